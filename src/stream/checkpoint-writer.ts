import { performance } from "node:perf_hooks";
import type { PartitionLog, Position } from "./log-partition.ts";

/**
 * Writes one partition's checkpoints behind its consumer, so the consumer handles its next
 * batch while the last position is being made durable (a write, an fdatasync and a rename on
 * disk) instead of waiting for it. Safe because the records are already handled: a checkpoint
 * written late, or lost in a crash, only means they are delivered again, which processing
 * tolerates. Writes never overlap and never go backwards; positions marked while one is being
 * written, or within `intervalMs` of the last write's start, are folded into the next write.
 * Under steady traffic a partition hands in many small batches a second, and a checkpoint per
 * batch would cost more file operations than appending the records did; the interval bounds
 * them to ten a second per partition (at 100 ms), at the price of redelivering about that much
 * more after a crash.
 */
export class CheckpointWriter {
  private next: { upTo: Position; seq: number; count: number } | undefined;
  private writing: Promise<void> | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  /** Ends the current pause between writes at once; flush() calls it. */
  private hurry: (() => void) | undefined;
  /** Set by flush(): no more pauses until the marks so far are written. */
  private hurried = false;

  constructor(
    private readonly log: PartitionLog,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 0,
  ) {}

  /** Everything before `upTo` (the `count` records up to `seq` since the last mark) is handled. */
  mark(upTo: Position, seq: number, count: number): void {
    this.next = { upTo, seq, count: count + (this.next?.count ?? 0) };
    this.writing ??= this.write();
  }

  /** Resolves once every position marked so far is written (or its failure reported). */
  async flush(): Promise<void> {
    if (this.writing === undefined) return;
    this.hurried = true;
    this.hurry?.();
    await this.writing;
  }

  private async write(): Promise<void> {
    while (this.next !== undefined) {
      // A monotonic clock: a wall clock stepped back would stall checkpoints for the step.
      const pause = Math.min(
        this.intervalMs,
        this.lastWriteAt + this.intervalMs - performance.now(),
      );
      if (pause > 0 && !this.hurried) {
        await new Promise<void>((resolve) => {
          // Never what keeps a process alive: stopping the consumer flushes, which ends it.
          const timer = setTimeout(resolve, pause).unref();
          this.hurry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.hurry = undefined;
      }
      const { upTo, seq, count } = this.next!;
      this.next = undefined;
      this.lastWriteAt = performance.now();
      try {
        await this.log.commit(upTo, seq, count);
      } catch (error) {
        this.onError(error);
      }
    }
    // Cleared with no await after the emptiness check, so no mark can be left unwritten.
    this.writing = undefined;
    this.hurried = false;
  }
}
