import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { AlertHub } from "../../src/alerts/hub.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import {
  chainOf,
  grantApplicationRole,
  openPostgresLedger,
  type SqlLedger,
} from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { record } from "../processor/process-batch.suite.ts";
import { cleanEnv, runCli } from "../support/cli.ts";
import { asSuperuser, DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { ledgerRecords, uniqueMerchant } from "./ledger.suite.ts";

/** Kinesis shard ids, as the Lambda hands them over: shard n commits on chain n. */
const shard = (n: number) => `shardId-${String(n).padStart(12, "0")}`;

/** Settles with the promise, or rejects after `ms`: a commit that should not wait. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms).unref(),
    ),
  ]);
}

/** Whether the promise is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol("pending");
  const timer = new Promise((resolve) => setTimeout(() => resolve(marker), ms));
  return (await Promise.race([promise.then(() => null), timer])) === marker;
}

test("SCL-3 a partition's chain is its number modulo the chain count, hashed when it has none, chain 0 without one", () => {
  // The local log's partitions and Kinesis shards, each on its own chain up to the count.
  assert.deepEqual(
    [0, 1, 2, 3].map((n) => chainOf(`local:9c1e2f:${n}`, 16)),
    [0, 1, 2, 3],
  );
  assert.deepEqual(
    [0, 1, 7, 16, 17].map((n) => chainOf(shard(n), 16)),
    [0, 1, 7, 0, 1],
  );
  assert.equal(chainOf(undefined, 16), 0);
  // Deterministic, and within range, for names without a number.
  assert.equal(chainOf("eu-shard-x", 16), chainOf("eu-shard-x", 16));
  for (const name of ["a", "b", "c", "some-shard"]) {
    const chain = chainOf(name, 5);
    assert.ok(chain >= 0 && chain < 5, name);
  }
  assert.equal(chainOf("local:x:3", 1), 0);
  assert.throws(() => chainOf("x", 0), /chain count must be an integer in 1\.\.256/);
});

describe("SCL-3 parallel hash chains on the real PostgreSQL", () => {
  const schema = uniqueName("txwatch_chains_test");
  const opened: SqlLedger[] = [];
  const clients: pg.Client[] = [];
  let ledger: SqlLedger;

  async function open(pool: pg.PoolConfig = {}, checkpointEveryRows = 100): Promise<SqlLedger> {
    const opening = await openPostgresLedger({
      connectionString: DATABASE_URL,
      schema,
      pool: { connectionTimeoutMillis: 5_000, max: 4, ...pool },
      chains: 8,
      checkpoints: { everyRows: checkpointEveryRows, everyMs: 3_600_000 },
    });
    opened.push(opening);
    return opening;
  }

  async function client(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    await c.connect();
    clients.push(c);
    return c;
  }

  before(async () => {
    ledger = await open();
    await ledger.migrate();
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    for (const l of opened) await l.close();
    await dropSchema(schema);
  });

  test("SCL-3 no global lock: commits on two chains hold their transactions open at once and a third chain commits meanwhile; a commit on a held chain waits", async () => {
    const merchantId = uniqueMerchant();
    const claim = (c: pg.Client, chain: number) =>
      // A checkpoint is due at every commit: the first to claim takes the checkpoint lock.
      c.query("SELECT * FROM ledger_claim_and_lock($1::text::jsonb, $2, 1, 3600000)", [
        JSON.stringify(
          ledgerRecords(merchantId, 2).map((r) => ({
            merchant_id: r.tx.merchantId,
            transaction_id: r.tx.transactionId,
          })),
        ),
        chain,
      ]);
    // This process opens the month's partition (DDL, which waits for open transactions) once:
    // done here, before transactions are held open.
    await ledger.commitBatch(ledgerRecords(merchantId, 1), [], []);
    const [a, b, watcher] = [await client(), await client(), await client()];
    try {
      await holdTwoChains(a, b, watcher, claim, merchantId);
    } finally {
      await a.query("ROLLBACK");
      await b.query("ROLLBACK");
    }
    const verified = await ledger.verifyChain();
    assert.equal(verified.ok, true, JSON.stringify(verified));
  });

  async function holdTwoChains(
    a: pg.Client,
    b: pg.Client,
    watcher: pg.Client,
    claim: (c: pg.Client, chain: number) => Promise<unknown>,
    merchantId: string,
  ): Promise<void> {
    const { rows: before } = await watcher.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM ledger_checkpoints",
    );
    await a.query("BEGIN");
    await within(claim(a, 5), 5_000, "chain 5, first");
    await b.query("BEGIN");
    // Chain 6 while chain 5's transaction holds its lock (and the checkpoint lock: it was due).
    await within(claim(b, 6), 5_000, "chain 6 while chain 5 is held");

    // A whole commit through the ledger on a third chain, both held: it neither waits for their
    // chain locks nor for the checkpoint lock (it skips the checkpoint).
    const eager = await open({}, 1);
    const third = await within(
      eager.commitBatch(ledgerRecords(merchantId, 3), [], [], { partition: shard(7) }),
      5_000,
      "chain 7 while chains 5 and 6 are held",
    );
    assert.equal(third.inserted.length, 3);
    const { rows: during } = await watcher.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM ledger_checkpoints",
    );
    assert.equal(during[0]!.n, before[0]!.n, "the checkpoint was skipped, not waited for");

    // The same chain as a held one waits for its advisory lock (schema, chain 5).
    const sameChain = ledger.commitBatch(ledgerRecords(merchantId, 2), [], [], {
      partition: shard(5),
    });
    assert.equal(await pendingAfter(sameChain, 500), true, "chain 5's second writer waits");
    const { rows: waiting } = await watcher.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2 AND objid = 5
         AND classid = hashtext('txwatch.chain.' || $1)::oid`,
      [schema],
    );
    assert.equal(waiting[0]!.n, 1);
    await a.query("ROLLBACK");
    const second = await within(sameChain, 5_000, "chain 5 after its holder ended");
    assert.equal(second.inserted.length, 2);
  }

  test("SCL-3 four pools commit 50 batches each on their own chains and two more on one chain, all at once: nothing lost, nothing doubled, every chain verifies", async () => {
    const merchantId = uniqueMerchant();
    // Six processes' worth of writers: each its own pool and group committers.
    const writers = await Promise.all(Array.from({ length: 6 }, () => open({ max: 2 }, 50)));
    const shardOf = (w: number) => shard(Math.min(w, 4) + 10);
    const plan = writers.map(() =>
      Array.from({ length: 50 }, (_, i) =>
        ledgerRecords(merchantId, 4, new Date(Date.UTC(2026, 11, 1, 0, i)).toISOString()),
      ),
    );
    // Redelivery: the two writers of one chain each commit the other's batches half the time,
    // and every writer sends its previous batch's last record again with each batch.
    plan[5] = plan[5]!.map((batch, i) => (i % 2 === 0 ? plan[4]![i]! : batch));
    const handed = plan.map((batches) =>
      batches.map((batch, i) => (i === 0 ? batch : [...batch, batches[i - 1]!.at(-1)!])),
    );
    const inserted = await Promise.all(
      writers.map(async (writer, w) => {
        let count = 0;
        for (const batch of handed[w]!) {
          count += (await writer.commitBatch(batch, [], [], { partition: shardOf(w) })).inserted
            .length;
        }
        return count;
      }),
    );

    const expected = new Set(plan.flat(2).map((r) => r.tx.transactionId));
    assert.equal(expected.size, 5 * 200 + 100);
    assert.equal(
      inserted.reduce((a, b) => a + b, 0),
      expected.size,
      "each record reported new exactly once",
    );
    const { rows } = await ledger.db.query<{ transaction_id: string; chain: number; n: number }>(
      `SELECT transaction_id, min(chain) AS chain, count(*)::int AS n FROM transactions
       WHERE merchant_id = $1 GROUP BY transaction_id`,
      [merchantId],
    );
    assert.equal(rows.length, expected.size, "nothing lost");
    assert.ok(
      rows.every((r) => r.n === 1),
      "nothing doubled",
    );
    assert.deepEqual(new Set(rows.map((r) => r.transaction_id)), expected);
    const perChain = new Map<number, number>();
    for (const row of rows) perChain.set(row.chain, (perChain.get(row.chain) ?? 0) + 1);
    // shardId-...10..13 are chains 2..5 of 8; ...14 is chain 6.
    assert.deepEqual(
      [...perChain].sort((x, y) => x[0] - y[0]),
      [
        [2, 200],
        [3, 200],
        [4, 200],
        [5, 200],
        [6, 300],
      ],
    );
    const { rows: keys } = await ledger.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM transaction_keys WHERE merchant_id = $1",
      [merchantId],
    );
    assert.equal(keys[0]!.n, expected.size);

    const verified = await ledger.verifyChain();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    for (const chain of [2, 3, 4, 5, 6]) {
      assert.ok(verified.chains.some((c) => c.chain === chain && c.problem === undefined));
    }
    assert.ok(verified.checkpoints.checked >= 10, `${verified.checkpoints.checked} checkpoints`);
    assert.ok((verified.checkpoints.last?.chains ?? 0) >= 5);
  });

  test("SCL-3 processBatch commits each stream partition's batch on that partition's chain", async () => {
    const ruleset = defaultRuleset();
    const deps = {
      history: new MemoryHistoryStore(),
      ledger,
      ruleset: () => ruleset,
      alerts: new AlertHub(),
      log: createLogger("silent"),
      source: "local",
    };
    const batches = [1, 3].map((partition) =>
      Array.from({ length: 3 }, () => ({
        ...record({ customerId: `p-${partition}` }),
        origin: `0a1b2c:${partition}`,
      })),
    );
    const responses = await Promise.all(batches.map((batch) => processBatch(batch, deps)));
    assert.deepEqual(responses, [{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    for (const [i, batch] of batches.entries()) {
      const { rows } = await ledger.db.query<{ chain: number }>(
        "SELECT DISTINCT chain FROM transactions WHERE transaction_id = ANY($1::text[])",
        [`{${batch.map((r) => r.tx.transactionId).join(",")}}`],
      );
      assert.deepEqual(
        rows.map((r) => r.chain),
        [[1, 3][i]],
      );
    }
  });

  test("SCL-3 the application's role commits on several chains and writes checkpoints, but cannot change them", async () => {
    const role = uniqueName("txwatch_app_test");
    await asSuperuser(`CREATE ROLE ${role} NOLOGIN`);
    try {
      await grantApplicationRole(ledger.db, role);
      const app = await open({ options: `-c role=${role}` }, 1);
      const checkpoints = async () => {
        const { rows } = await app.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM ledger_checkpoints",
        );
        return rows[0]!.n;
      };
      const before = await checkpoints();
      const merchantId = uniqueMerchant();
      for (const n of [0, 1]) {
        const result = await app.commitBatch(ledgerRecords(merchantId, 2), [], [], {
          partition: shard(n),
        });
        assert.equal(result.inserted.length, 2);
      }
      assert.equal(await checkpoints(), before + 2);
      for (const sql of [
        "UPDATE ledger_checkpoints SET prev_hash = prev_hash",
        "DELETE FROM ledger_checkpoints",
        "TRUNCATE ledger_checkpoints",
        "DELETE FROM ledger_chains",
        "ALTER TABLE ledger_checkpoints DISABLE TRIGGER ALL",
        "SELECT setval('transactions_seq', 1)",
      ]) {
        await assert.rejects(app.db.query(sql), /permission denied|must be owner/, sql);
      }
      assert.equal((await app.verifyChain()).ok, true);
      await app.close();
      opened.splice(opened.indexOf(app), 1);
    } finally {
      await asSuperuser(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`);
    }
  });

  test("SCL-3 txwatch verify-ledger names every chain and the checkpoints it checked, and a broken checkpoint", async () => {
    const env = cleanEnv({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema });
    const ok = await runCli(["verify-ledger"], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const verified = await ledger.verifyChain();
    const lines = ok.stdout.trim().split("\n");
    assert.equal(
      lines[0],
      `ledger verified: ${verified.checked} rows on ${verified.chains.length} chains, ${verified.checkpoints.checked} checkpoints, hash chains intact`,
    );
    for (const chain of verified.chains) {
      assert.ok(
        lines.includes(`  chain ${chain.chain}: ${chain.rows} rows, head seq ${chain.headSeq}`),
        ok.stdout,
      );
    }
    const last = verified.checkpoints.last!;
    assert.equal(
      lines.at(-1),
      `  checkpoints: ${verified.checkpoints.checked} checkpoints, the last #${last.id} at ${last.createdAt} covering ${last.chains} chains`,
    );

    // Tamper as a superuser would, around the append-only triggers.
    const tamperer = await client();
    await tamperer.query("BEGIN");
    await tamperer.query("SET LOCAL session_replication_role = replica");
    await tamperer.query(
      `UPDATE ledger_checkpoints SET created_at = created_at + interval '1 second' WHERE id = 2`,
    );
    await tamperer.query("COMMIT");
    const bad = await runCli(["verify-ledger"], env);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      /^ledger TAMPERED: checkpoint 2: checkpoint_hash does not match its heads and time \(checkpoint altered\); \d+ rows on \d+ chains, 1 checkpoint checked$/m,
    );
    assert.match(bad.stdout, /^ {2}checkpoints: 1 checkpoint, the last #1 .*; BROKEN at #2: /m);
  });
});
