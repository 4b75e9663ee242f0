import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CheckpointWriter } from "../../src/stream/checkpoint-writer.ts";
import {
  type LogEntry,
  MemoryPartition,
  type PartitionLog,
  type Position,
} from "../../src/stream/log-partition.ts";

/** A memory partition whose checkpoint writes wait until the test lets them finish. */
class GatedPartition implements PartitionLog {
  readonly writes: { upTo: Position; seq: number; count: number }[] = [];
  private readonly log = new MemoryPartition();
  private release: (() => void)[] = [];
  failNext = false;

  async commit(upTo: Position, seq: number, count: number): Promise<void> {
    this.writes.push({ upTo, seq, count });
    await new Promise<void>((resolve) => this.release.push(resolve));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("disk full");
    }
    await this.log.commit(upTo);
  }

  append = (): Promise<void> => Promise.resolve();
  read = (): Promise<LogEntry[]> => Promise.resolve([]);
  committed = (): Position => this.log.committed();
  pending = (): number => this.log.pending();
  close = (): Promise<void> => Promise.resolve();

  finishWrite(): void {
    this.release.shift()?.();
  }

  get waiting(): number {
    return this.release.length;
  }
}

const at = (offset: number): Position => ({ segment: 0, offset });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("CheckpointWriter", () => {
  test("PRC-1 positions marked while a checkpoint is written fold into one next write, in order", async () => {
    const log = new GatedPartition();
    const writer = new CheckpointWriter(log, () => assert.fail("no error expected"));
    writer.mark(at(10), 9, 10);
    await tick();
    writer.mark(at(20), 19, 10);
    writer.mark(at(35), 34, 15);
    assert.equal(log.writes.length, 1, "one write at a time");
    log.finishWrite();
    await tick();
    assert.deepEqual(log.writes, [
      { upTo: at(10), seq: 9, count: 10 },
      { upTo: at(35), seq: 34, count: 25 },
    ]);
    const flushed = writer.flush();
    log.finishWrite();
    await flushed;
    assert.equal(log.committed().offset, 35);
    assert.equal(log.waiting, 0);
  });

  test("PRC-1 a failed checkpoint is reported and the next mark is still written", async () => {
    const log = new GatedPartition();
    const errors: unknown[] = [];
    const writer = new CheckpointWriter(log, (error) => errors.push(error));
    log.failNext = true;
    writer.mark(at(5), 4, 5);
    log.finishWrite();
    await writer.flush();
    assert.equal(errors.length, 1);
    assert.equal(log.committed().offset, 0, "the failed position was not recorded");
    writer.mark(at(8), 7, 3);
    log.finishWrite();
    await writer.flush();
    assert.equal(log.committed().offset, 8);
  });

  test("PRC-1 marks within the interval of the last write wait for it and fold into one write", async () => {
    const log = new GatedPartition();
    const writer = new CheckpointWriter(log, () => assert.fail("no error expected"), 300);
    const started = performance.now();
    writer.mark(at(1), 0, 1);
    log.finishWrite();
    await tick();
    writer.mark(at(2), 1, 1);
    writer.mark(at(3), 2, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (performance.now() - started < 250) {
      assert.equal(log.writes.length, 1, "no second write within the interval");
    }
    while (log.writes.length < 2 && performance.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(performance.now() - started >= 290, "the second write waited for the interval");
    assert.deepEqual(log.writes.at(-1), { upTo: at(3), seq: 2, count: 2 });
    assert.equal(log.writes.length, 2);
    log.finishWrite();
    await writer.flush();
    assert.equal(log.committed().offset, 3);
  });

  test("PRC-1 a flush writes the last mark at once instead of waiting out the interval", async () => {
    const log = new GatedPartition();
    const writer = new CheckpointWriter(log, () => assert.fail("no error expected"), 60_000);
    writer.mark(at(1), 0, 1);
    log.finishWrite();
    await tick();
    writer.mark(at(7), 6, 6);
    await tick();
    assert.equal(log.writes.length, 1, "the second write waits for the interval");
    const flushed = writer.flush();
    await tick();
    assert.equal(log.writes.length, 2, "flush ended the wait");
    log.finishWrite();
    await flushed;
    assert.equal(log.committed().offset, 7);
    // The writer is idle again, and the next mark is written at once only after the interval.
    writer.mark(at(9), 8, 2);
    await tick();
    assert.equal(log.writes.length, 2);
    const again = writer.flush();
    await tick();
    log.finishWrite();
    await again;
    assert.equal(log.committed().offset, 9);
  });
});
