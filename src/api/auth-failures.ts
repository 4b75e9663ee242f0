import { ApiError } from "../errors.ts";

const WINDOW_MS = 60_000;
/** Addresses tracked at once; past this the oldest window is dropped (bounded memory). */
const MAX_ADDRESSES = 100_000;

/**
 * Failed authentications per client address in a fixed one-minute window (SEC-6). `check` runs
 * before the key is hashed or looked up, so a flood of guesses costs a map lookup, not a ledger
 * query.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { failures: number; resetAt: number }>();

  constructor(
    private readonly maxPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const window = this.windows.get(address);
    if (window === undefined) return 0;
    const now = this.now();
    if (window.resetAt <= now) {
      this.windows.delete(address);
      return 0;
    }
    return window.failures >= this.maxPerMinute ? Math.ceil((window.resetAt - now) / 1000) : 0;
  }

  recordFailure(address: string): void {
    const now = this.now();
    const window = this.windows.get(address);
    if (window !== undefined && window.resetAt > now) {
      window.failures++;
      return;
    }
    if (window !== undefined) this.windows.delete(address);
    if (this.windows.size >= MAX_ADDRESSES) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { failures: 1, resetAt: now + WINDOW_MS });
  }

  /** The 429 for an address over its budget. */
  static limited(retryAfter: number, max: number): ApiError {
    return new ApiError(
      "TXW_ERR_RATE_LIMITED",
      `too many failed authentications (at most ${max} per minute); retry in ${retryAfter} s`,
    );
  }
}
