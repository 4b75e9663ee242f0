import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { LocalLogStream } from "../../src/stream/local-log.ts";
import type { BatchHandler } from "../../src/stream/types.ts";
import {
  type Decoded,
  decode,
  OK,
  orderByCustomer,
  range,
  tempDir,
  txRecord,
  waitFor,
} from "./stream-helpers.ts";

const FAST_RETRY = { baseMs: 5, maxMs: 20 };

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith("p-"))
    .flatMap((p) =>
      readdirSync(join(dir, p))
        .filter((f) => f.endsWith(".seg"))
        .map((f) => join(dir, p, f)),
    );
}

/** Opens the directory, consumes until `expected` records came, stops, closes. */
async function drain(dir: string, expected: number, partitions = 2): Promise<Decoded[]> {
  const stream = new LocalLogStream({ dir, partitions });
  assert.equal(stream.lag(), expected, "lag after reopening");
  const out: Decoded[] = [];
  const consumer = stream.consume(
    async (records) => {
      out.push(...records.map(decode));
      return OK;
    },
    { batchSize: 7 },
  );
  await waitFor(() => out.length >= expected && stream.lag() === 0, `${expected} records`);
  await consumer.stop();
  await stream.close();
  return out;
}

describe("LocalLogStream (durable)", () => {
  test("ING-2 a resolved put is on disk: records put and never consumed survive a restart", async (t) => {
    const dir = tempDir(t);
    const stream = new LocalLogStream({ dir, partitions: 2 });
    const result = await stream.put(range(50).map((i) => txRecord(`cust-${i % 5}`, i)));
    assert.deepEqual(result.failed, []);
    const bytes = segmentFiles(dir).reduce((sum, file) => sum + statSync(file).size, 0);
    assert.ok(bytes > 50 * 30, "the segments hold the records once put resolves");
    await stream.close();

    const delivered = await drain(dir, 50);
    assert.deepEqual(
      delivered.map((r) => r.n).sort((a, b) => a - b),
      range(50),
    );
    for (const [, ns] of orderByCustomer(delivered))
      assert.deepEqual(
        [...ns].sort((a, b) => a - b),
        ns,
      );
  });

  test("PRC-1 after a restart only records not yet handled are redelivered", async (t) => {
    const dir = tempDir(t);
    const stream = new LocalLogStream({ dir, partitions: 2 });
    await stream.put(range(100).map((i) => txRecord(`cust-${i % 3}`, i)));
    const handled: number[] = [];
    let stopping: Promise<void> | undefined;
    const consumer = stream.consume(
      async (records) => {
        handled.push(...records.map((r) => decode(r).n));
        if (handled.length >= 30) stopping ??= consumer.stop();
        return OK;
      },
      { batchSize: 10 },
    );
    await waitFor(() => stopping !== undefined, "30 handled");
    await stopping;
    await stream.close();

    const redelivered = (await drain(dir, 100 - handled.length)).map((r) => r.n);
    assert.equal(
      redelivered.filter((n) => handled.includes(n)).length,
      0,
      "handled ones come back",
    );
    assert.deepEqual(
      [...handled, ...redelivered].sort((a, b) => a - b),
      range(100),
    );
  });

  test("PRC-1 a partial failure is checkpointed up to the failed record, which comes first after a restart", async (t) => {
    const dir = tempDir(t);
    const stream = new LocalLogStream({ dir, partitions: 1, retry: FAST_RETRY });
    await stream.put(range(10).map((n) => txRecord("cust-1", n)));
    let deliveries = 0;
    const failAtFive: BatchHandler = async (records) => {
      deliveries++;
      const five = records.find((r) => decode(r).n === 5);
      return { batchItemFailures: five ? [{ itemIdentifier: five.sequenceNumber }] : [] };
    };
    const consumer = stream.consume(failAtFive, { batchSize: 10 });
    await waitFor(() => deliveries >= 3, "a few redeliveries");
    await consumer.stop();
    assert.equal(stream.lag(), 5);
    await stream.close();

    const after = await drain(dir, 5, 1);
    assert.deepEqual(
      after.map((r) => r.n),
      range(5, 5),
    );
  });

  test("PRC-1 checkpoints are spaced by checkpointIntervalMs, and stopping writes the last one", async (t) => {
    const dir = tempDir(t);
    const checkpointFile = (p: number) =>
      join(dir, `p-${String(p).padStart(3, "0")}`, "checkpoint.json");
    const stream = new LocalLogStream({ dir, partitions: 1, checkpointIntervalMs: 60_000 });
    t.after(() => stream.close());
    const seen: Decoded[] = [];
    const consumer = stream.consume(
      async (records) => {
        seen.push(...records.map(decode));
        return OK;
      },
      { batchSize: 5 },
    );
    await stream.put(range(5).map((i) => txRecord("cust-1", i)));
    await waitFor(() => seen.length === 5, "the first batch");
    await waitFor(() => existsSync(checkpointFile(0)), "its checkpoint, written at once");
    const first = readFileSync(checkpointFile(0), "utf8");
    await stream.put(range(5).map((i) => txRecord("cust-1", 5 + i)));
    await waitFor(() => seen.length === 10, "the second batch");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(stream.lag(), 5, "handled, but its checkpoint waits for the interval");
    assert.equal(readFileSync(checkpointFile(0), "utf8"), first);
    await consumer.stop();
    assert.equal(stream.lag(), 0, "stop wrote the last checkpoint without waiting");
    await stream.close();
    const reopened = new LocalLogStream({ dir, partitions: 1 });
    assert.equal(reopened.lag(), 0, "nothing is redelivered after a clean stop");
    await reopened.close();
  });

  test("ING-2 fully consumed segments are deleted; sequence numbers keep growing after a restart", async (t) => {
    const dir = tempDir(t);
    const stream = new LocalLogStream({ dir, partitions: 2, segmentBytes: 2048 });
    for (const chunk of range(10)) {
      await stream.put(range(20).map((i) => txRecord(`cust-${i % 4}`, chunk * 20 + i, 40)));
    }
    assert.ok(segmentFiles(dir).length > 4, "segments roll at segmentBytes");
    const seen: Decoded[] = [];
    const consumer = stream.consume(
      async (records) => {
        seen.push(...records.map(decode));
        return OK;
      },
      { batchSize: 16 },
    );
    await waitFor(() => seen.length === 200 && stream.lag() === 0, "200 records");
    await consumer.stop();
    assert.ok(segmentFiles(dir).length <= 2, `left: ${segmentFiles(dir).join(", ")}`);
    await stream.close();

    const reopened = new LocalLogStream({ dir, partitions: 2, segmentBytes: 2048 });
    assert.equal(reopened.lag(), 0);
    await reopened.put([txRecord("cust-1", 999)]);
    const next: Decoded[] = [];
    const again = reopened.consume(
      async (records) => {
        next.push(...records.map(decode));
        return OK;
      },
      { batchSize: 16 },
    );
    await waitFor(() => next.length === 1, "the new record");
    await again.stop();
    const highest = seen
      .map((r) => r.sequenceNumber)
      .sort()
      .at(-1)!;
    assert.ok(next[0]!.sequenceNumber > highest, "a sequence number is never reused");
    await reopened.close();
  });

  test("ING-2 a torn write at the tail (a put that never resolved) is dropped on restart", async (t) => {
    const dir = tempDir(t);
    const stream = new LocalLogStream({ dir, partitions: 1 });
    await stream.put(range(5).map((n) => txRecord("cust-1", n)));
    await stream.close();
    const [segment] = segmentFiles(dir);
    appendFileSync(segment!, Buffer.from([0, 0, 0, 200, 1, 2, 3])); // a frame header, no body

    const reopened = new LocalLogStream({ dir, partitions: 1 });
    assert.equal(reopened.lag(), 5);
    await reopened.put([txRecord("cust-1", 5)]);
    await reopened.close();
    assert.deepEqual(
      (await drain(dir, 6, 1)).map((r) => r.n),
      range(6),
    );
  });

  test("ING-2 the partition count changes only once every record is consumed", async (t) => {
    const dir = tempDir(t);
    const stream = new LocalLogStream({ dir, partitions: 2 });
    await stream.put(range(4).map((i) => txRecord(`cust-${i}`, i)));
    await stream.close();
    assert.throws(
      () => new LocalLogStream({ dir, partitions: 3 }),
      /4 unconsumed records in 2 partitions/,
    );

    await drain(dir, 4);
    const resized = new LocalLogStream({ dir, partitions: 3 });
    assert.equal(resized.partitions, 3);
    assert.equal(resized.lag(), 0);
    await resized.close();
  });

  test("PRC-4 a log directory keeps one random instance id across restarts and re-layouts; records carry it with their partition", async (t) => {
    const dir = tempDir(t);
    const first = new LocalLogStream({ dir, partitions: 2 });
    const id = first.instanceId;
    assert.match(id, /^[0-9a-f]{16}$/);
    await first.put(range(6).map((i) => txRecord(`cust-${i}`, i)));
    const origins = new Set<string | undefined>();
    const consumer = first.consume(
      async (records) => {
        for (const record of records) origins.add(record.origin);
        return OK;
      },
      { batchSize: 10 },
    );
    await waitFor(() => first.lag() === 0, "6 records");
    await consumer.stop();
    await first.close();
    assert.deepEqual([...origins].sort(), [`${id}:0`, `${id}:1`]);

    const reopened = new LocalLogStream({ dir, partitions: 3 });
    assert.equal(reopened.instanceId, id, "the id is the directory's, not the process's");
    await reopened.close();
    const other = new LocalLogStream({ dir: tempDir(t), partitions: 2 });
    assert.notEqual(other.instanceId, id);
    await other.close();
  });

  test("PRC-4 a directory laid out before instance ids gets one on its next open, and keeps it", async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, "stream.json"), JSON.stringify({ partitions: 2, seqFloor: 0 }));
    const upgraded = new LocalLogStream({ dir, partitions: 2 });
    await upgraded.close();
    const stored = JSON.parse(readFileSync(join(dir, "stream.json"), "utf8")) as {
      instanceId?: string;
    };
    assert.equal(stored.instanceId, upgraded.instanceId);
    const again = new LocalLogStream({ dir, partitions: 2 });
    assert.equal(again.instanceId, upgraded.instanceId);
    await again.close();
  });
});
