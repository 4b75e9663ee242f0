/**
 * Wakes idle waiters when something happened. The version counter closes the race between
 * "looked, found nothing" and "started waiting": a wait that starts after a notify it has not
 * seen returns at once instead of sleeping through it.
 */
export class Notifier {
  private version = 0;
  private readonly waiters = new Set<() => void>();

  get current(): number {
    return this.version;
  }

  notify(): void {
    this.version++;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves on a notify after `seen`, after `ms`, or when `signal` aborts; never rejects. */
  wait(seen: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.version !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }
}
