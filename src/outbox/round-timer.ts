/**
 * The pause between two rounds of a channel worker. A wake (a commit raised alerts) ends a
 * poll at once, or, arriving during a round, makes another follow it; it never shortens a
 * backoff, so a failing receiver is not hammered by every commit.
 */
export class RoundTimer {
  private waiter: { wakeable: boolean; done: () => void } | null = null;
  private woken = false;

  wake(): void {
    if (this.waiter === null) this.woken = true;
    else if (this.waiter.wakeable) this.waiter.done();
  }

  /** Whether a wake arrived since the last call (and forgets it). */
  takeWake(): boolean {
    const woken = this.woken;
    this.woken = false;
    return woken;
  }

  /** Resolves after `ms`, or at a wake when `wakeable`, or at cancel(). */
  wait(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiter = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // The server keeps the process alive; a worker left running must not.
      timer.unref();
      this.waiter = { wakeable, done };
    });
  }

  cancel(): void {
    this.waiter?.done();
  }
}
