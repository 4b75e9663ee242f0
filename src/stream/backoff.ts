export interface BackoffPolicy {
  /** Delay before the first retry, in ms (before jitter). */
  baseMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half of the delay is fixed so waits really grow under
 * sustained failure, half is random so many retriers (shards, API requests) do not fire in step.
 * `attempt` counts from 1.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Resolves after `ms`, or at once when `signal` aborts, so stop() never waits out a backoff. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
