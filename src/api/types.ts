import type { AlertHub } from "../alerts/hub.ts";
import type { ClaimStore } from "../claims/types.ts";
import type { HistoryStore } from "../history/types.ts";
import type { ApiKeyRecord, Ledger } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Stream } from "../stream/types.ts";

export interface ApiDeps {
  ledger: Ledger;
  history: HistoryStore;
  /** Ingest claims (ING-1, REL-4): which request puts an id on the stream, and whether it did. */
  claims: ClaimStore;
  stream: Stream;
  /** HMAC key for card tokens (PRIV-1). */
  tokenKey: Buffer;
  hub: AlertHub;
  metrics: Metrics;
  log: Logger;
  /** Requests per minute per merchant key. */
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  now?: () => number;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The merchant the bearer key belongs to, set by the auth hook on /v1 routes. */
    merchant?: ApiKeyRecord;
  }
}

/** The merchant of an authenticated request (routes under /v1 only). */
export function merchantOf(request: { merchant?: ApiKeyRecord }): string {
  return request.merchant!.merchantId;
}
