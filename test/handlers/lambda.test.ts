import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openPostgresLedger } from "../../src/ledger/index.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { record } from "../processor/process-batch.suite.ts";
import { kinesisEvent } from "../support/kinesis-records.ts";
import {
  connectTestRedis,
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  REDIS_URL,
  uniqueName,
} from "../support/services.ts";

/** PRC-1 / CMP-1: the Lambda handler is a thin shell over processBatch, against the real services. */
describe("Lambda handler (Kinesis event -> processBatch)", () => {
  const schema = uniqueName("txw_test");
  const prefix = uniqueName("txwtest");
  let ledger: Ledger;
  let lambda: typeof import("../../src/handlers/lambda.ts");
  before(async () => {
    Object.assign(process.env, {
      DATABASE_URL,
      REDIS_URL,
      TXWATCH_DB_SCHEMA: schema,
      TXWATCH_REDIS_PREFIX: prefix,
      LOG_LEVEL: "silent",
      POWERTOOLS_METRICS_DISABLED: "true",
    });
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    lambda = await import("../../src/handlers/lambda.ts");
  });
  after(async () => {
    await lambda.resetForTests();
    await ledger.close();
    await dropSchema(schema);
    const redis = await connectTestRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  test("PRC-1 a Kinesis event is decided into the ledger, and its redelivery changes nothing", async () => {
    const records = [
      record({ customerId: "l-1" }),
      record({ customerId: "l-2" }),
      record({ customerId: "l-1", amount: 900 }),
    ];
    const event = kinesisEvent(records);
    assert.deepEqual(await lambda.handler(event), { batchItemFailures: [] });
    const ids = records.map((r) => r.tx.transactionId);
    assert.equal((await ledger.existingIds("japancart", ids)).size, 3);
    const first = await ledger.getTransaction("japancart", ids[2]!);
    assert.deepEqual(await lambda.handler(event), { batchItemFailures: [] });
    assert.deepEqual(await ledger.getTransaction("japancart", ids[2]!), first);
    assert.ok((await ledger.verifyChain()).ok);
  });

  test("PRC-1 a malformed record is quarantined, not retried", async () => {
    const bad = {
      sequenceNumber: "49590338271490256608559692538361571095921575989136588898",
      partitionKey: "x",
      data: Buffer.from("{}"),
    };
    assert.deepEqual(await lambda.handler(kinesisEvent([bad])), { batchItemFailures: [] });
    const q = await ledger.listQuarantine(10);
    assert.ok(
      q.some(
        (r) => r.sequenceNumber === bad.sequenceNumber && /v must be 1|required/.test(r.reason),
      ),
    );
  });

  test("PRC-1 when every record fails the handler throws so the mapping retries and bisects", async () => {
    await lambda.resetForTests();
    process.env.REDIS_URL = "redis://127.0.0.1:1";
    try {
      await assert.rejects(
        lambda.handler(kinesisEvent([record({ customerId: "l-3" })])),
        /all 1 records failed/,
      );
    } finally {
      process.env.REDIS_URL = REDIS_URL;
      await lambda.resetForTests();
    }
  });
});
