import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { KinesisStreamEvent } from "aws-lambda";
import { AlertHub } from "../../src/alerts/hub.ts";
import { recordsOf } from "../../src/handlers/lambda.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { openPostgresLedger } from "../../src/ledger/index.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type ProcessorDeps, processBatch } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { LocalLogStream } from "../../src/stream/local-log.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/** PRC-4: a quarantine row names its stream record uniquely, whatever feeds the one ledger. */
describe("quarantine source (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  let ledger: Ledger;
  let deps: (source: string) => ProcessorDeps;
  const dirs: string[] = [];
  before(async () => {
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    const ruleset = defaultRuleset();
    deps = (source) => ({
      history: new MemoryHistoryStore(),
      ledger,
      ruleset: () => ruleset,
      alerts: new AlertHub(),
      log: createLogger("silent"),
      source,
    });
  });
  after(async () => {
    await ledger.close();
    await dropSchema(schema);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function quarantinedWith(marker: string) {
    return (await ledger.listQuarantine(1000)).filter((q) => q.payload.includes(marker));
  }

  test("PRC-4 two local log directories feeding one PostgreSQL ledger each keep their bad record", async () => {
    const marker = uniqueName("bad");
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), "txwatch-quarantine-"));
      dirs.push(dir);
      // Each directory counts from sequence number 0: both bad records are number 0.
      const stream = new LocalLogStream({ dir, partitions: 1 });
      await stream.put([{ partitionKey: "cust-q", data: Buffer.from(`{${marker}`) }]);
      const consumer = stream.consume((records) => processBatch(records, deps("local")), {
        batchSize: 10,
        idleMs: 10,
      });
      const deadline = Date.now() + 10_000;
      while (stream.lag() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await consumer.stop();
      await stream.close();
    }
    const rows = await quarantinedWith(marker);
    assert.equal(rows.length, 2, "neither bad record is lost to the other");
    assert.deepEqual(
      rows.map((r) => r.sequenceNumber),
      ["00000000000000000000", "00000000000000000000"],
    );
    for (const row of rows) assert.match(row.source, /^local:[0-9a-f]{16}:0$/);
    assert.notEqual(rows[0]!.source, rows[1]!.source);
  });

  test("PRC-4 one sequence number on two Kinesis shards is quarantined once per shard", async () => {
    const marker = uniqueName("bad");
    const sequenceNumber = "49590338271490256608559692538361571095921575989136588898";
    const event = {
      Records: ["shardId-000000000000", "shardId-000000000001"].map((shard) => ({
        kinesis: {
          kinesisSchemaVersion: "1.0",
          partitionKey: "cust-q",
          sequenceNumber,
          data: Buffer.from(`{${marker}`).toString("base64"),
          approximateArrivalTimestamp: Date.now() / 1000,
        },
        eventSource: "aws:kinesis",
        eventVersion: "1.0",
        eventID: `${shard}:${sequenceNumber}`,
        eventName: "aws:kinesis:record",
        invokeIdentityArn: "arn:aws:iam::123456789012:role/processor",
        awsRegion: "us-east-1",
        eventSourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/tx-stream",
      })),
    } as KinesisStreamEvent;
    const result = await processBatch(recordsOf(event), deps("tx-stream"));
    assert.deepEqual(result, { batchItemFailures: [] });
    const rows = await quarantinedWith(marker);
    assert.deepEqual(rows.map((r) => r.source).sort(), [
      "tx-stream:shardId-000000000000",
      "tx-stream:shardId-000000000001",
    ]);
  });
});
