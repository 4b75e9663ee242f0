import { runSmoke, type SmokeStep } from "../../smoke/smoke.ts";

function line(step: SmokeStep): string {
  const mark = step.ok ? "ok  " : "FAIL";
  return `${mark} ${step.step.padEnd(8)} ${String(step.ms).padStart(6)} ms  ${step.detail}\n`;
}

/** `txwatch smoke --url <base> --api-key <key>`: 0 when every step passed, 1 naming the one that failed. */
export async function smokeCommand(options: {
  url: string;
  apiKey?: string;
  merchant: string;
  timeout: number;
}): Promise<number> {
  if (options.apiKey === undefined || options.apiKey === "") {
    process.stderr.write("smoke: --api-key (or TXWATCH_API_KEY) is required\n");
    return 1;
  }
  const result = await runSmoke({
    url: options.url,
    apiKey: options.apiKey,
    merchant: options.merchant,
    timeoutMs: options.timeout * 1000,
    onStep: (step) => process.stdout.write(line(step)),
  });
  process.stdout.write(
    result.ok
      ? `smoke test passed: ${options.url} (transaction ${result.transactionId})\n`
      : `smoke test FAILED at step "${result.failed}": ${options.url}\n`,
  );
  return result.ok ? 0 : 1;
}
