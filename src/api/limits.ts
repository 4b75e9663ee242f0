/**
 * The limits an attacker meets at the HTTP edge (SEC-6). Every value has a default sound for
 * production; tests pass shorter ones to buildApp.
 */
export interface HttpLimits {
  /** Node's headersTimeout: the whole header block must arrive within this (slow-loris). */
  headersTimeoutMs: number;
  /** Fastify's requestTimeout: the whole request, body included, must arrive within this. */
  requestTimeoutMs: number;
  /** Fastify's connectionTimeout: a socket idle this long in both directions is closed. */
  connectionTimeoutMs: number;
  /** Fastify's keepAliveTimeout: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often Node checks connections against headersTimeout and requestTimeout. */
  timeoutCheckIntervalMs: number;
  /** Longest path parameter (ids are at most 64 characters); longer is a 414. */
  maxParamLength: number;
  /** Largest header block Node accepts (request line included); larger is a 431. */
  maxHeaderBytes: number;
  /** Failed authentications per client address per minute before 429. */
  authFailuresPerMinute: number;
  /** Concurrent alert event streams per API key; one more is a 429. */
  streamsPerKey: number;
  /**
   * Proxies in front of the API whose X-Forwarded-For is trusted (Fastify's `trustProxy` as a
   * hop count): 1 behind the AWS load balancer, so the failure limit counts per client and not
   * per balancer address. 0: the socket's address, and X-Forwarded-For is ignored.
   */
  trustedProxyHops: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // Above the event stream's 15 s heartbeat, so a quiet stream is not cut.
  connectionTimeoutMs: 60_000,
  // Above the AWS load balancer's 60 s idle timeout, so the balancer closes first.
  keepAliveTimeoutMs: 72_000,
  timeoutCheckIntervalMs: 1_000,
  maxParamLength: 128,
  maxHeaderBytes: 16 * 1024,
  authFailuresPerMinute: 20,
  streamsPerKey: 5,
  trustedProxyHops: 0,
};

export function httpLimits(overrides: Partial<HttpLimits> = {}): HttpLimits {
  return { ...DEFAULT_HTTP_LIMITS, ...overrides };
}
