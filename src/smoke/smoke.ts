import { randomBytes } from "node:crypto";

/**
 * A smoke test of a deployed monitor (AWS-6): the service answers, a transaction is accepted and
 * decided, and the alert it raises can be read. Each step is timed and the first failure stops
 * the run, naming its step.
 */
export type SmokeStepName = "health" | "submit" | "decision" | "alert";

export interface SmokeStep {
  step: SmokeStepName;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface SmokeOptions {
  url: string;
  apiKey: string;
  /** The merchant the key belongs to. */
  merchant?: string;
  /** How long the decision and the alert may take to appear. */
  timeoutMs?: number;
  pollMs?: number;
  /** Per request. */
  requestTimeoutMs?: number;
  /** Told of each step as it ends. */
  onStep?: (step: SmokeStep) => void;
  now?: () => number;
}

export interface SmokeResult {
  ok: boolean;
  transactionId: string;
  customerId: string;
  steps: SmokeStep[];
  /** The step that failed. */
  failed?: SmokeStepName;
}

class StepFailure extends Error {}

/**
 * A transaction the default ruleset reviews on its own, every run: a customer and a card never
 * seen before (fresh ids per run) paying ¥600,000 — new-customer-high-value (25),
 * new-card-high-value (25) and high-amount (20) make 70, over the review threshold of 50, and
 * a review raises one alert per contributing rule. A card token, not a number: nothing a
 * smoke test sends is a real card.
 */
export function smokeTransaction(merchantId: string, runId: string): Record<string, unknown> {
  return {
    transactionId: `smoke-${runId}`,
    occurredAt: new Date().toISOString(),
    merchantId,
    customerId: `smoke-customer-${runId}`,
    amount: 600_000,
    currency: "JPY",
    paymentMethod: { type: "card", card: { token: `smoke-card-${runId}` } },
    channel: "web",
    country: "JP",
    shippingCountry: "JP",
    metadata: { purpose: "txwatch smoke test" },
  };
}

async function bodyText(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

function reason(error: unknown): string {
  if (error instanceof StepFailure) return error.message;
  const err = error as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause === undefined ? err.message : `${err.message} (${cause})`;
}

export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const base = options.url.replace(/\/+$/, "");
  const merchant = options.merchant ?? "demo";
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 500;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const runId = `${new Date(now())
    .toISOString()
    .replace(/[-:.TZ]/g, "")
    .slice(0, 14)}-${randomBytes(4).toString("hex")}`;
  const tx = smokeTransaction(merchant, runId);
  const transactionId = tx.transactionId as string;
  const customerId = tx.customerId as string;
  const auth = { authorization: `Bearer ${options.apiKey}` };
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
  const steps: SmokeStep[] = [];
  const result: SmokeResult = { ok: false, transactionId, customerId, steps };

  async function step(name: SmokeStepName, run: () => Promise<string>): Promise<boolean> {
    const started = now();
    let done: SmokeStep;
    try {
      done = { step: name, ok: true, ms: now() - started, detail: await run() };
      done.ms = now() - started;
    } catch (error) {
      done = { step: name, ok: false, ms: now() - started, detail: reason(error) };
      result.failed = name;
    }
    steps.push(done);
    options.onStep?.(done);
    return done.ok;
  }

  /** Calls `probe` until it answers something other than undefined, or the time is up. */
  async function poll<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const answer = await probe();
      if (answer !== undefined) return answer;
      if (now() >= deadline) throw new StepFailure(`${what} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  const healthy = await step("health", async () => {
    const res = await request("/healthz");
    if (res.status !== 200)
      throw new StepFailure(`GET /healthz answered ${res.status}: ${await bodyText(res)}`);
    return "GET /healthz 200";
  });
  if (!healthy) return result;

  const submitted = await step("submit", async () => {
    const res = await request("/v1/transactions", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(tx),
    });
    if (res.status !== 202) {
      throw new StepFailure(`POST /v1/transactions answered ${res.status}: ${await bodyText(res)}`);
    }
    const body = (await res.json()) as { status?: string };
    if (body.status !== "accepted")
      throw new StepFailure(`transaction ${transactionId} was ${body.status}`);
    return `${transactionId} accepted`;
  });
  if (!submitted) return result;

  const decided = await step("decision", async () => {
    const decision = await poll(`${transactionId} was not decided`, async () => {
      const res = await request(`/v1/transactions/${encodeURIComponent(transactionId)}`, {
        headers: auth,
      });
      if (res.status === 404) return undefined;
      if (res.status !== 200) {
        throw new StepFailure(
          `GET /v1/transactions/${transactionId} answered ${res.status}: ${await bodyText(res)}`,
        );
      }
      const body = (await res.json()) as {
        status?: string;
        decision?: { action: string; score: number };
      };
      return body.status === "decided" && body.decision !== undefined ? body.decision : undefined;
    });
    if (decision.action === "allow") {
      throw new StepFailure(
        `${transactionId} was allowed (score ${decision.score}): the ruleset raised no alert`,
      );
    }
    return `${decision.action}, score ${decision.score}`;
  });
  if (!decided) return result;

  await step("alert", async () => {
    const alerts = await poll(`no alert for ${transactionId}`, async () => {
      const res = await request(`/v1/alerts?customerId=${encodeURIComponent(customerId)}`, {
        headers: auth,
      });
      if (res.status !== 200) {
        throw new StepFailure(`GET /v1/alerts answered ${res.status}: ${await bodyText(res)}`);
      }
      const body = (await res.json()) as {
        alerts?: { id: string; rule: string; transactionId: string }[];
      };
      const mine = (body.alerts ?? []).filter((a) => a.transactionId === transactionId);
      return mine.length > 0 ? mine : undefined;
    });
    return `${alerts.length} alert(s): ${alerts.map((a) => a.rule).join(", ")}`;
  });
  result.ok = result.failed === undefined;
  return result;
}
