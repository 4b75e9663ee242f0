import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { backoffDelay } from "../../src/stream/backoff.ts";
import { earliestFailure } from "../../src/stream/batch-result.ts";
import { decodeFrames, encodeFrames } from "../../src/stream/log-frame.ts";
import { Notifier } from "../../src/stream/notifier.ts";
import { partitionOf } from "../../src/stream/partition.ts";
import type { ConsumedRecord } from "../../src/stream/types.ts";
import { range } from "./stream-helpers.ts";

const batch: ConsumedRecord[] = range(5).map((i) => ({
  sequenceNumber: `seq-${i}`,
  partitionKey: "cust-1",
  data: Buffer.from(String(i)),
}));

describe("stream building blocks", () => {
  test("PRC-1 the earliest reported failure decides where redelivery starts", () => {
    assert.equal(earliestFailure(batch, { batchItemFailures: [] }), -1);
    const failures = [{ itemIdentifier: "seq-3" }, { itemIdentifier: "seq-1" }];
    assert.equal(earliestFailure(batch, { batchItemFailures: failures }), 1);
  });

  test("PRC-1 a failure naming no record of the batch fails the whole batch, as Lambda does", () => {
    assert.equal(earliestFailure(batch, { batchItemFailures: [{ itemIdentifier: "" }] }), 0);
    assert.equal(earliestFailure(batch, { batchItemFailures: [{ itemIdentifier: "x" }] }), 0);
  });

  test("PRC-1 a customer's partition is stable across processes and runs", () => {
    // Golden values: a change here would move customers' pending records on an upgrade.
    assert.deepEqual(
      ["cust-1", "cust-2", "cust-42", "日本"].map((key) => partitionOf(key, 4)),
      [2, 3, 0, 3],
    );
    const counts = [0, 0, 0, 0];
    for (const i of range(4000)) counts[partitionOf(`cust-${i}`, 4)]!++;
    for (const count of counts) assert.ok(count > 800 && count < 1200, `skewed: ${counts}`);
  });

  test("ING-2 retry backoff grows, is capped and jittered", () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    assert.equal(
      backoffDelay(1, policy, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(1, policy, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(3, policy, () => 1),
      400,
    );
    assert.equal(
      backoffDelay(30, policy, () => 1),
      1000,
    );
  });

  test("ING-2 log frames round-trip and a flipped byte is detected as corruption", () => {
    const frames = encodeFrames([
      { seq: 7, partitionKey: "cust-1", data: Buffer.from("a") },
      { seq: 9, partitionKey: "顧客", data: Buffer.from("bc") },
    ]);
    const decoded = decodeFrames(frames, 100, 10);
    assert.equal(decoded.stop, "end");
    assert.deepEqual(
      decoded.frames.map((f) => [f.seq, f.partitionKey, f.data.toString(), f.start]),
      [
        [7, "cust-1", "a", 100],
        [9, "顧客", "bc", decoded.frames[0]!.end],
      ],
    );
    const damaged = Buffer.from(frames);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
    const result = decodeFrames(damaged, 0, 10);
    assert.equal(result.frames.length, 1);
    assert.equal(result.stop, "corrupt");
    assert.equal(decodeFrames(frames.subarray(0, frames.length - 1), 0, 10).stop, "partial");
  });

  test("PRC-1 a notify between looking and waiting is not lost", async () => {
    const notifier = new Notifier();
    const seen = notifier.current;
    notifier.notify();
    const started = Date.now();
    await notifier.wait(seen, 10_000);
    assert.ok(Date.now() - started < 100);
  });
});
