import type { FrameInput } from "./log-frame.ts";

/**
 * A place in one partition's log. On disk: the segment (named by its first sequence number)
 * and a byte offset in it. In memory: segment 0 and the record's ordinal.
 */
export interface Position {
  segment: number;
  offset: number;
}

export interface LogEntry extends FrameInput {
  /** Where the record starts: re-reading from here redelivers it. */
  at: Position;
  /** Just after the record: committing this marks it consumed. */
  next: Position;
}

/** One partition of the local log; both backends keep the same consume/commit semantics. */
export interface PartitionLog {
  /** Appends in order; resolves once the entries are as durable as the backend makes them. */
  append(entries: readonly FrameInput[]): Promise<void>;
  /** Up to `max` entries from `from` on; empty when there is nothing more yet. */
  read(from: Position, max: number): Promise<LogEntry[]>;
  /** Marks the `count` entries before `upTo` consumed (checkpoint, then release their space). */
  commit(upTo: Position, seq: number, count: number): Promise<void>;
  /** Where a consumer (re)starts. */
  committed(): Position;
  /** Appended and not yet committed. */
  pending(): number;
  close(): Promise<void>;
}

/**
 * Memory-only partition (tests, benchmarks). A committed entry's slot is cleared at once so its
 * data can be collected; the array itself is compacted once the cleared prefix outgrows the rest.
 */
export class MemoryPartition implements PartitionLog {
  private entries: (FrameInput | undefined)[] = [];
  /** Ordinal of entries[0]. */
  private base = 0;
  private committedOrdinal = 0;

  async append(entries: readonly FrameInput[]): Promise<void> {
    for (const entry of entries) this.entries.push(entry);
  }

  async read(from: Position, max: number): Promise<LogEntry[]> {
    const start = Math.max(from.offset, this.committedOrdinal) - this.base;
    const out: LogEntry[] = [];
    for (let i = start; i < this.entries.length && out.length < max; i++) {
      const entry = this.entries[i];
      if (entry === undefined) continue;
      const ordinal = this.base + i;
      out.push({
        ...entry,
        at: { segment: 0, offset: ordinal },
        next: { segment: 0, offset: ordinal + 1 },
      });
    }
    return out;
  }

  async commit(upTo: Position): Promise<void> {
    for (let ordinal = this.committedOrdinal; ordinal < upTo.offset; ordinal++) {
      this.entries[ordinal - this.base] = undefined;
    }
    this.committedOrdinal = Math.max(this.committedOrdinal, upTo.offset);
    const cleared = this.committedOrdinal - this.base;
    if (cleared >= 1024 && cleared >= this.entries.length - cleared) {
      this.entries = this.entries.slice(cleared);
      this.base = this.committedOrdinal;
    }
  }

  committed(): Position {
    return { segment: 0, offset: this.committedOrdinal };
  }

  pending(): number {
    return this.base + this.entries.length - this.committedOrdinal;
  }

  async close(): Promise<void> {
    this.entries = [];
    this.base = this.committedOrdinal;
  }
}
