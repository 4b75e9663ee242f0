/** Appends closer together than this share one mark. */
const GRAIN_MS = 1000;
/** The handled prefix of the marks is cut off once it is this long and half of them. */
const COMPACT_AFTER = 1024;

/**
 * When one partition of the local log got its unhandled records, and when its consumer last got
 * anywhere (REL-5). The log itself keeps no time; this keeps one mark per second of appends
 * (the last sequence number appended in that second, dated by the first append of it), so its
 * memory follows how long the backlog is in time, not in records, and an age reads at most a
 * second high. Sequence numbers grow within a partition, so a mark is handled once the
 * consumer has handled its last sequence number.
 */
export class BacklogClock {
  private marks: { lastSeq: number; at: number }[] = [];
  /** Index of the first mark with records not handled yet. */
  private first = 0;
  private handledSeq = -1;
  private advancedAt: number;

  constructor(now: number) {
    this.advancedAt = now;
  }

  /** Records up to `lastSeq` were appended at `at`. */
  appended(lastSeq: number, at: number): void {
    // The consumer can read records before their append is reported here: nothing then waits.
    if (lastSeq <= this.handledSeq) return;
    const last = this.marks.length > this.first ? this.marks.at(-1) : undefined;
    if (last !== undefined && at - last.at < GRAIN_MS) {
      last.lastSeq = lastSeq;
      return;
    }
    this.marks.push({ lastSeq, at });
  }

  /** The consumer handled every record up to `seq`, at `at`. */
  handled(seq: number, at: number): void {
    this.advancedAt = at;
    this.handledSeq = Math.max(this.handledSeq, seq);
    while (this.first < this.marks.length && this.marks[this.first]!.lastSeq <= this.handledSeq) {
      this.first++;
    }
    if (this.first >= COMPACT_AFTER && this.first * 2 >= this.marks.length) {
      this.marks = this.marks.slice(this.first);
      this.first = 0;
    }
  }

  /** A consumer starts: the time before it, when nothing could advance, is not a stall. */
  started(at: number): void {
    this.advancedAt = at;
  }

  /** When the oldest record not handled yet was appended; undefined when none waits. */
  oldestAt(): number | undefined {
    return this.marks[this.first]?.at;
  }

  /** When the consumer last handled a record, or started. */
  lastAdvance(): number {
    return this.advancedAt;
  }
}
