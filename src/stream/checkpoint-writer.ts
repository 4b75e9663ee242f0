import type { PartitionLog, Position } from "./log-partition.ts";

/**
 * Writes one partition's checkpoints behind its consumer, so the consumer handles its next
 * batch while the last position is being made durable (a write, an fdatasync and a rename on
 * disk) instead of waiting for it. Safe because the records are already handled: a checkpoint
 * written late, or lost in a crash, only means they are delivered again, which processing
 * tolerates. Writes never overlap and never go backwards; positions marked while one is being
 * written are folded into the next write, so a slow disk costs fewer writes, not a queue.
 */
export class CheckpointWriter {
  private next: { upTo: Position; seq: number; count: number } | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly log: PartitionLog,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Everything before `upTo` (the `count` records up to `seq` since the last mark) is handled. */
  mark(upTo: Position, seq: number, count: number): void {
    this.next = { upTo, seq, count: count + (this.next?.count ?? 0) };
    this.writing ??= this.write();
  }

  /** Resolves once every position marked so far is written (or its failure reported). */
  async flush(): Promise<void> {
    await this.writing;
  }

  private async write(): Promise<void> {
    while (this.next !== undefined) {
      const { upTo, seq, count } = this.next;
      this.next = undefined;
      try {
        await this.log.commit(upTo, seq, count);
      } catch (error) {
        this.onError(error);
      }
    }
    // Cleared with no await after the emptiness check, so no mark can be left unwritten.
    this.writing = undefined;
  }
}
