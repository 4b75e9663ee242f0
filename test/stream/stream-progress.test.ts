import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BacklogClock } from "../../src/stream/backlog-clock.ts";
import type { KinesisStream } from "../../src/stream/kinesis-stream.ts";
import { LocalLogStream } from "../../src/stream/local-log.ts";
import { partitionOf } from "../../src/stream/partition.ts";
import type { BatchResponse, ConsumedRecord } from "../../src/stream/types.ts";
import { type Kinesalite, startKinesalite } from "../support/kinesalite.ts";
import { openKinesisStream } from "./kinesis-helpers.ts";
import { delay, OK, range, tempDir, txRecord, waitFor } from "./stream-helpers.ts";

const FAST_RETRY = { baseMs: 5, maxMs: 20 };
const failAll = (records: ConsumedRecord[]): BatchResponse => ({
  batchItemFailures: records.map((r) => ({ itemIdentifier: r.sequenceNumber })),
});

describe("BacklogClock", () => {
  test("REL-5 the oldest unhandled record's append time, one mark per second of appends", () => {
    const clock = new BacklogClock(0);
    assert.equal(clock.oldestAt(), undefined);
    clock.appended(1, 1000);
    clock.appended(4, 1500); // the same second: folded into the first mark
    clock.appended(9, 2600);
    assert.equal(clock.oldestAt(), 1000);
    clock.handled(3, 3000);
    assert.equal(clock.oldestAt(), 1000, "record 4 of the first mark still waits");
    clock.handled(4, 3100);
    assert.equal(clock.oldestAt(), 2600);
    assert.equal(clock.lastAdvance(), 3100);
    clock.handled(9, 3200);
    assert.equal(clock.oldestAt(), undefined);
    clock.appended(8, 3300); // reported after the consumer had already handled it
    assert.equal(clock.oldestAt(), undefined);
  });
});

describe("LocalLogStream progress (REL-5)", () => {
  test("REL-5 lag and oldest age per partition are real while a backlog waits, and 0 once handled", async () => {
    const stream = new LocalLogStream({ partitions: 2 });
    const customers = range(10).map((c) => `cust-${c}`);
    await stream.put(range(40).map((i) => txRecord(customers[i % 10]!, i)));
    await delay(50);
    const waiting = stream.progress();
    assert.deepEqual(
      waiting.map((p) => p.partition),
      ["0", "1"],
    );
    const perPartition = [0, 1].map(
      (p) => range(40).filter((i) => partitionOf(customers[i % 10]!, 2) === p).length,
    );
    assert.deepEqual(
      waiting.map((p) => p.records),
      perPartition,
    );
    for (const p of waiting) {
      if (p.records! > 0) assert.ok(p.oldestAgeSeconds >= 0.04, `${p.partition} has an age`);
      assert.equal(p.stuck, false);
    }
    const consumer = stream.consume(async () => OK, { batchSize: 7, idleMs: 10 });
    await waitFor(() => stream.lag() === 0, "the backlog handled");
    await consumer.stop();
    for (const p of stream.progress()) {
      assert.equal(p.records, 0);
      assert.equal(p.oldestAgeSeconds, 0);
    }
    await stream.close();
  });

  test("REL-5 a partition that does not advance is stuck after the threshold, and not once it moves again", async () => {
    const stream = new LocalLogStream({ partitions: 2, retry: FAST_RETRY, stuckAfterMs: 200 });
    const blocked = partitionOf("cust-blocked", 2);
    let healthy = false;
    const consumer = stream.consume(
      async (records) =>
        healthy || records[0]!.partitionKey !== "cust-blocked" ? OK : failAll(records),
      { batchSize: 10, idleMs: 10 },
    );
    await stream.put([txRecord("cust-blocked", 0), txRecord("cust-blocked", 1)]);
    await delay(100);
    assert.ok(
      stream.progress().every((p) => !p.stuck),
      "not yet: younger than the threshold",
    );
    await waitFor(() => stream.progress()[blocked]!.stuck, "the blocked partition stuck", 5000);
    const other = stream.progress()[1 - blocked]!;
    assert.equal(other.stuck, false, "the other partition is fine");
    assert.equal(stream.progress()[blocked]!.records, 2);
    assert.ok(stream.progress()[blocked]!.oldestAgeSeconds >= 0.2);

    healthy = true;
    await waitFor(() => stream.lag() === 0, "the partition moves again");
    assert.deepEqual(
      stream.progress().map((p) => [p.stuck, p.oldestAgeSeconds]),
      [
        [false, 0],
        [false, 0],
      ],
    );
    await consumer.stop();
    await stream.close();
  });

  test("REL-5 a long backlog being worked through is not stuck", async () => {
    const stream = new LocalLogStream({ partitions: 1, stuckAfterMs: 100 });
    await stream.put(range(60).map((i) => txRecord("cust-slow", i)));
    const consumer = stream.consume(
      async () => {
        await delay(20);
        return OK;
      },
      { batchSize: 1, idleMs: 10 },
    );
    await delay(400);
    const [p] = stream.progress();
    assert.ok(p!.oldestAgeSeconds >= 0.1, "old records wait");
    assert.equal(p!.stuck, false, "but the partition advances");
    await consumer.stop();
    await stream.close();
  });

  test("REL-5 records recovered from disk are dated by the opening: a reopened backlog reads real lag", async (t) => {
    const dir = tempDir(t);
    const first = new LocalLogStream({ dir, partitions: 1 });
    await first.put(range(5).map((i) => txRecord("cust-disk", i)));
    await first.close();
    const reopened = new LocalLogStream({ dir, partitions: 1, stuckAfterMs: 50 });
    await delay(80);
    const [p] = reopened.progress();
    assert.equal(p!.records, 5);
    assert.ok(p!.oldestAgeSeconds >= 0.08);
    assert.equal(p!.stuck, true, "nothing consumes it");
    await reopened.close();
  });
});

describe("KinesisStream progress (REL-5, kinesalite)", () => {
  let kinesalite: Kinesalite;
  const streams: KinesisStream[] = [];
  before(async () => {
    kinesalite = await startKinesalite();
  });
  after(async () => {
    await Promise.all(streams.map((s) => s.close()));
    await kinesalite.close();
  });

  test("REL-5 each shard read reports the age of its oldest unhandled record, stuck while it cannot get past it", async () => {
    const stream = await openKinesisStream(kinesalite.endpoint, { stuckAfterMs: 300 }, 1);
    streams.push(stream);
    assert.deepEqual(stream.progress(), [], "no consumer, nothing to report");
    await stream.put(range(5).map((i) => txRecord("cust-k", i)));
    let healthy = false;
    let handled = 0;
    const consumer = stream.consume(
      async (records) => {
        if (!healthy) return failAll(records);
        handled += records.length;
        return OK;
      },
      { batchSize: 10, idleMs: 10 },
    );
    await waitFor(() => stream.progress()[0]?.stuck === true, "the shard stuck", 5000);
    const [stuck] = stream.progress();
    assert.match(stuck!.partition, /^shardId-/);
    assert.equal(stuck!.records, undefined, "Kinesis cannot count them");
    assert.ok(stuck!.oldestAgeSeconds >= 0.3);

    healthy = true;
    await waitFor(() => handled === 5, "the records handled");
    await waitFor(() => stream.progress()[0]?.oldestAgeSeconds === 0, "caught up");
    assert.equal(stream.progress()[0]!.stuck, false);
    await consumer.stop();
    assert.deepEqual(stream.progress(), [], "a stopped consumer reads no shard");
  });
});
