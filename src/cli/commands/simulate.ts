import { ValidationError } from "../../errors.ts";
import { createProgress, formatSummary, runSimulation } from "../../simulate/index.ts";

export interface SimulateOptions {
  url: string;
  apiKey?: string;
  merchant: string;
  currency: string;
  rate: number;
  duration: number;
  fraudRatio: number;
  seed: number;
  json?: boolean;
}

export async function simulateCommand(options: SimulateOptions): Promise<void> {
  if (options.apiKey === undefined) {
    throw new ValidationError(
      "--api-key",
      "--api-key (or TXWATCH_API_KEY) is required: use the key `txwatch start` printed",
    );
  }
  if (options.currency !== "JPY" && options.currency !== "BRL") {
    throw new ValidationError("--currency", "--currency must be JPY or BRL");
  }
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const progress = createProgress(Math.round(options.rate * options.duration));
  let summary: Awaited<ReturnType<typeof runSimulation>>;
  try {
    summary = await runSimulation(
      {
        url: options.url.replace(/\/$/, ""),
        apiKey: options.apiKey,
        merchantId: options.merchant,
        currency: options.currency,
        rate: options.rate,
        durationSeconds: options.duration,
        fraudRatio: options.fraudRatio,
        seed: options.seed,
      },
      {
        onProgress: progress.onProgress,
        onDecisions: progress.onDecisions,
        signal: controller.signal,
      },
    );
  } finally {
    // Also when the run fails: the error line must not follow a half-drawn progress line.
    progress.stop();
  }
  process.stdout.write(
    options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary),
  );
}
