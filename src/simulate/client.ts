import { setTimeout as delay } from "node:timers/promises";
import { ApiError, ERROR_CATALOGUE, type ErrorCode } from "../errors.ts";
import type { TransactionInput } from "../transaction/schema.ts";
import type { Action } from "../transaction/types.ts";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  url: string;
  apiKey: string;
  fetch: FetchLike;
  signal?: AbortSignal;
  /** Retries after a 429, a 5xx or a network error; then the batch counts as failed. */
  maxRetries: number;
  requestTimeoutMs: number;
  /** Upper bound on one Retry-After wait, so a hostile or confused server cannot stall a run. */
  maxRetryAfterMs: number;
}

/** accepted and duplicate both mean the transaction is in the monitor; failed: never delivered. */
export type ItemStatus = "accepted" | "duplicate" | "rejected" | "failed";

export interface ItemOutcome {
  status: ItemStatus;
  errorCode?: string;
  errorMessage?: string;
}

export type DecisionOutcome =
  | { state: "decided"; action: Action; latencyMs?: number; rules?: string[] }
  | { state: "pending"; retryAfterMs?: number };

/** The outcome code of an item whose request never got an answer. */
export const NETWORK_FAILURE = "TXW_SIM_NETWORK";

/** "ECONNREFUSED", "timed out", ...: what fetch's error says of the connection, on one line. */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? "network error";
}

/** Sleeps, waking early (without throwing) when the run is aborted. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  await delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function backoffMs(attempt: number): number {
  return Math.min(5000, 200 * 2 ** attempt);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function jsonOf(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}

function errorOf(body: unknown): { code?: string; message?: string } {
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  return {
    ...(typeof error.code === "string" && { code: error.code }),
    ...(typeof error.message === "string" && { message: error.message }),
  };
}

function signalFor(client: ClientOptions): AbortSignal {
  const timeout = AbortSignal.timeout(client.requestTimeoutMs);
  return client.signal ? AbortSignal.any([client.signal, timeout]) : timeout;
}

function headers(client: ClientOptions, json: boolean): Record<string, string> {
  return {
    authorization: `Bearer ${client.apiKey}`,
    accept: "application/json",
    ...(json && { "content-type": "application/json" }),
  };
}

function base(client: ClientOptions): string {
  return client.url.replace(/\/+$/, "");
}

/** A wrong key or merchant fails every request alike: stop the run and say why. */
async function failOnAuth(res: Response): Promise<void> {
  if (res.status !== 401 && res.status !== 403) return;
  const { code, message } = errorOf(await jsonOf(res));
  const known: ErrorCode =
    code !== undefined && code in ERROR_CATALOGUE
      ? (code as ErrorCode)
      : res.status === 401
        ? "TXW_ERR_UNAUTHENTICATED"
        : "TXW_ERR_FORBIDDEN";
  throw new ApiError(
    known,
    `the monitor refused the request (${res.status}): ${message ?? "check --api-key and --merchant"}`,
  );
}

function itemOutcome(item: unknown): ItemOutcome {
  if (!isRecord(item)) return { status: "failed", errorCode: "TXW_SIM_BAD_RESPONSE" };
  const status = item.status;
  if (status === "accepted" || status === "duplicate") return { status };
  const { code, message } = errorOf(item);
  return {
    status: "rejected",
    errorCode: code ?? "TXW_SIM_BAD_RESPONSE",
    ...(message !== undefined && { errorMessage: message }),
  };
}

/**
 * Posts one `{"transactions": [...]}` batch and answers per item. Resending after a lost
 * answer is safe: the monitor is idempotent on transactionId and says "duplicate".
 */
export async function postBatch(
  client: ClientOptions,
  items: TransactionInput[],
): Promise<ItemOutcome[]> {
  const body = JSON.stringify({ transactions: items });
  let last: ItemOutcome = { status: "failed", errorCode: "TXW_SIM_NOT_SENT" };
  for (let attempt = 0; attempt <= client.maxRetries; attempt++) {
    if (client.signal?.aborted) break;
    let res: Response;
    try {
      res = await client.fetch(`${base(client)}/v1/transactions`, {
        method: "POST",
        headers: headers(client, true),
        body,
        signal: signalFor(client),
      });
    } catch (error) {
      last = { status: "failed", errorCode: NETWORK_FAILURE, errorMessage: networkReason(error) };
      if (attempt < client.maxRetries) await sleep(backoffMs(attempt), client.signal);
      continue;
    }
    if (res.status === 200 || res.status === 202) {
      const parsed = await jsonOf(res);
      const results = isRecord(parsed) && Array.isArray(parsed.results) ? parsed.results : [];
      return items.map((_, i) =>
        i < results.length
          ? itemOutcome(results[i])
          : { status: "failed", errorCode: "TXW_SIM_BAD_RESPONSE" },
      );
    }
    await failOnAuth(res);
    const { code, message } = errorOf(await jsonOf(res));
    const outcome: ItemOutcome = {
      status: "failed",
      errorCode: code ?? `HTTP_${res.status}`,
      ...(message !== undefined && { errorMessage: message }),
    };
    if (res.status === 429 || res.status >= 500) {
      last = outcome;
      const wait = retryAfterMs(res.headers.get("retry-after")) ?? backoffMs(attempt);
      if (attempt < client.maxRetries)
        await sleep(Math.min(wait, client.maxRetryAfterMs), client.signal);
      continue;
    }
    // The whole body was refused (400, 413, 415): the items reached the monitor and were rejected.
    return items.map(() => ({ ...outcome, status: "rejected" }));
  }
  return items.map(() => last);
}

type Decided = Extract<DecisionOutcome, { state: "decided" }>;

/** The decision in a GET /v1/transactions/{id} body (also one export line), if it has one. */
function decisionOf(body: unknown): Decided | undefined {
  if (!isRecord(body) || !isRecord(body.decision)) return undefined;
  const { action, decidedAt } = body.decision;
  if (action !== "allow" && action !== "review" && action !== "block") return undefined;
  const received = typeof body.receivedAt === "string" ? Date.parse(body.receivedAt) : Number.NaN;
  const decided = typeof decidedAt === "string" ? Date.parse(decidedAt) : Number.NaN;
  const latencyMs = decided - received;
  const reasons = Array.isArray(body.decision.reasons) ? body.decision.reasons : [];
  const rules = reasons.flatMap((r) => (isRecord(r) && typeof r.rule === "string" ? [r.rule] : []));
  return {
    state: "decided",
    action,
    ...(Number.isFinite(latencyMs) && { latencyMs }),
    ...(rules.length > 0 && { rules }),
  };
}

function pendingAfter(res: Response): { state: "pending"; retryAfterMs?: number } {
  const wait =
    res.status === 429 || res.status === 503
      ? retryAfterMs(res.headers.get("retry-after"))
      : undefined;
  return wait === undefined ? { state: "pending" } : { state: "pending", retryAfterMs: wait };
}

async function get(client: ClientOptions, path: string): Promise<Response | undefined> {
  try {
    return await client.fetch(`${base(client)}${path}`, {
      method: "GET",
      headers: headers(client, false),
      signal: signalFor(client),
    });
  } catch {
    // A timeout or a dropped connection: ask again next round.
    return undefined;
  }
}

/** The decision for one transaction; a 404 means "not processed yet", not an error. */
export async function getDecision(
  client: ClientOptions,
  transactionId: string,
): Promise<DecisionOutcome> {
  const res = await get(client, `/v1/transactions/${encodeURIComponent(transactionId)}`);
  if (res === undefined) return { state: "pending" };
  await failOnAuth(res);
  if (res.status !== 200) {
    await res.body?.cancel();
    return pendingAfter(res);
  }
  return decisionOf(await jsonOf(res)) ?? { state: "pending" };
}

export type ExportOutcome =
  | { state: "ok"; decisions: Map<string, Decided> }
  | { state: "unavailable" }
  | { state: "pending"; retryAfterMs?: number };

/**
 * Every decided transaction of the merchant that occurred in [from, to), in one request, from
 * the regulatory export (NDJSON). One GET per transaction would spend the merchant's request
 * budget (the API rate-limits per merchant) long before a large run's decisions are read.
 */
export async function exportDecisions(
  client: ClientOptions,
  from: string,
  to: string,
): Promise<ExportOutcome> {
  const query = new URLSearchParams({ from, to });
  const res = await get(client, `/v1/exports/transactions?${query}`);
  if (res === undefined) return { state: "pending" };
  await failOnAuth(res);
  if (res.status === 429 || res.status >= 500) {
    await res.body?.cancel();
    return pendingAfter(res);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return { state: "unavailable" };
  }
  const decisions = new Map<string, Decided>();
  for (const line of (await res.text()).split("\n")) {
    if (line.trim() === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      continue;
    }
    const decision = decisionOf(row);
    if (decision && isRecord(row) && typeof row.transactionId === "string") {
      decisions.set(row.transactionId, decision);
    }
  }
  return { state: "ok", decisions };
}
