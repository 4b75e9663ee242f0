import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkpointHash,
  GENESIS_HASH,
  loadMigrations,
  migrate,
  rowHash,
  SqlLedger,
} from "../../../src/ledger/index.ts";
import type { SqlClient } from "../../../src/ledger/sql-client.ts";
import type { LedgerRecord } from "../../../src/ledger/types.ts";
import { ledgerRecords, type SuiteContext, tamper, uniqueMerchant } from "../ledger.suite.ts";

/** The local log's partitions, as processBatch names a batch's origin: chain = partition. */
const partition = (n: number) => `local:0f3a9c:${n}`;

/** A checkpoint at every commit, none by time: tests know which commit wrote which. */
const EVERY_COMMIT = { everyRows: 1, everyMs: 3_600_000 };

/** A ledger of 4 chains (or more) checkpointing every commit, on the fresh ledger's connection. */
function chained(base: SqlLedger, chains = 4): SqlLedger {
  return new SqlLedger(base.db, Date.now, { chains, checkpoints: EVERY_COMMIT });
}

interface Spread {
  ledger: SqlLedger;
  /** The transaction ids committed on each chain 0..3, in commit order. */
  ids: string[][];
}

/** A fresh ledger with two batches of 3 on each of chains 0..3, interleaved. */
async function fourChains(ctx: SuiteContext): Promise<Spread> {
  const ledger = chained(await ctx.fresh());
  const merchantId = uniqueMerchant();
  const ids: string[][] = [[], [], [], []];
  for (let round = 0; round < 2; round++) {
    for (let chain = 0; chain < 4; chain++) {
      const records = ledgerRecords(merchantId, 3);
      await ledger.commitBatch(records, [], [], { partition: partition(chain) });
      ids[chain]!.push(...records.map((r) => r.tx.transactionId));
    }
  }
  return { ledger, ids };
}

async function rowsOf(db: SqlClient) {
  const { rows } = await db.query<{
    chain: number;
    seq: string;
    transaction_id: string;
    prev_hash: string;
    row_hash: string;
  }>(
    `SELECT t.chain, t.seq::text AS seq, t.transaction_id, t.prev_hash, t.row_hash
     FROM transactions t ORDER BY t.chain, t.seq`,
  );
  return rows;
}

/**
 * A commit as the ledger made them before SCL-3: the one chain's lock and head
 * (ledger_claim_and_lock(jsonb)), seq = head + 1.
 */
async function commitOnTheOneChain(db: SqlClient, records: LedgerRecord[]): Promise<void> {
  await db.transaction(async (tx) => {
    const keys = records.map((r) => ({
      merchant_id: r.tx.merchantId,
      transaction_id: r.tx.transactionId,
    }));
    const { rows } = await tx.query<{ seq: string | null; hash: string | null; at: string }>(
      `SELECT s.head_seq::text AS seq, s.head_hash AS hash,
         to_char(s.locked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
       FROM ledger_claim_and_lock($1::text::jsonb) AS s`,
      [JSON.stringify(keys)],
    );
    let seq = BigInt(rows[0]!.seq ?? "0");
    let prevHash = rows[0]!.hash ?? GENESIS_HASH;
    for (const { tx: t, receivedAt, decision } of records) {
      seq += 1n;
      const row = {
        seq: seq.toString(),
        prevHash,
        merchantId: t.merchantId,
        transactionId: t.transactionId,
        customerId: t.customerId,
        occurredAt: new Date(t.occurredAt).toISOString(),
        receivedAt,
        recordedAt: rows[0]!.at,
        amount: String(t.amount),
        currency: t.currency,
        tx: t,
        decision: { ...decision, decidedAt: new Date(decision.decidedAt).toISOString() },
      };
      const hash = rowHash(row);
      await tx.query(
        `INSERT INTO transactions (seq, merchant_id, transaction_id, customer_id, occurred_at,
           received_at, recorded_at, amount, currency, tx, prev_hash, row_hash)
         VALUES ($1::bigint, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7::timestamptz,
           $8::bigint, $9, $10::text::jsonb, $11, $12)`,
        [
          row.seq,
          row.merchantId,
          row.transactionId,
          row.customerId,
          row.occurredAt,
          row.receivedAt,
          row.recordedAt,
          row.amount,
          row.currency,
          JSON.stringify(row.tx),
          prevHash,
          hash,
        ],
      );
      await tx.query(
        `INSERT INTO decisions (merchant_id, transaction_id, action, score, reasons,
           ruleset_version, decided_at)
         VALUES ($1, $2, $3, $4::double precision, $5::text::jsonb, $6, $7::timestamptz)`,
        [
          row.merchantId,
          row.transactionId,
          decision.action,
          decision.score,
          JSON.stringify(decision.reasons),
          decision.rulesetVersion,
          row.decision.decidedAt,
        ],
      );
      prevHash = hash;
    }
  });
}

export function registerParallelChainTests(ctx: SuiteContext): void {
  test("SCL-3 batches of different partitions go on different chains, each linked on its own; seq stays unique across the ledger", async () => {
    const { ledger, ids } = await fourChains(ctx);
    const rows = await rowsOf(ledger.db);
    for (let chain = 0; chain < 4; chain++) {
      const own = rows.filter((r) => r.chain === chain);
      assert.deepEqual(
        own.map((r) => r.transaction_id),
        ids[chain],
        `chain ${chain} holds its partition's rows in commit order`,
      );
      own.forEach((row, i) => {
        assert.equal(row.prev_hash, i === 0 ? GENESIS_HASH : own[i - 1]!.row_hash);
      });
    }
    assert.equal(new Set(rows.map((r) => r.seq)).size, 24);
    const verified = await ledger.verifyChain();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.checked, 24);
    assert.deepEqual(
      verified.chains.map((c) => [c.chain, c.rows, c.headSeq]),
      [0, 1, 2, 3].map((chain) => [chain, 6, rows.filter((r) => r.chain === chain).at(-1)!.seq]),
    );
    // A checkpoint at each of the 8 commits; the last names every chain's head.
    assert.equal(verified.checkpoints.checked, 8);
    assert.equal(verified.checkpoints.last?.id, "8");
    assert.equal(verified.checkpoints.last?.chains, 4);
  });

  test("SCL-3 a checkpoint records every chain's head, is chained to the one before, and is written only when due", async () => {
    const { ledger } = await fourChains(ctx);
    const { rows } = await ledger.db.query<{
      id: string;
      created_at: string;
      heads: { chain: number; seq: string; hash: string }[];
      prev_hash: string;
      checkpoint_hash: string;
    }>(
      `SELECT id::text AS id,
         to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
         heads, prev_hash, checkpoint_hash
       FROM ledger_checkpoints ORDER BY id`,
    );
    const chainRows = await rowsOf(ledger.db);
    const heads = [0, 1, 2, 3].map((chain) => {
      const head = chainRows.filter((r) => r.chain === chain).at(-1)!;
      return { chain, seq: head.seq, hash: head.row_hash };
    });
    assert.deepEqual(rows.at(-1)!.heads, heads);
    // The first commit saw only its own chain; each later one adds or moves a head.
    assert.deepEqual(
      rows.map((r) => r.heads.length),
      [1, 2, 3, 4, 4, 4, 4, 4],
    );
    rows.forEach((row, i) => {
      assert.equal(row.prev_hash, i === 0 ? GENESIS_HASH : rows[i - 1]!.checkpoint_hash);
      assert.equal(
        checkpointHash({
          id: row.id,
          createdAt: row.created_at,
          prevHash: row.prev_hash,
          heads: row.heads,
        }),
        row.checkpoint_hash,
      );
    });

    // Not due (a million rows, an hour): commits go on without one.
    const lazy = new SqlLedger(ledger.db, Date.now, {
      chains: 4,
      checkpoints: { everyRows: 1_000_000, everyMs: 3_600_000 },
    });
    for (let chain = 0; chain < 4; chain++) {
      await lazy.commitBatch(ledgerRecords(uniqueMerchant(), 2), [], [], {
        partition: partition(chain),
      });
    }
    const { rows: count } = await ledger.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM ledger_checkpoints",
    );
    assert.equal(count[0]!.n, 8);
    assert.equal((await ledger.verifyChain()).ok, true);
  });

  test("SCL-3 several writers at once on different chains and two on one chain: nothing lost, nothing doubled, every chain verifies", async () => {
    const base = await ctx.fresh();
    const merchantId = uniqueMerchant();
    // Writers as separate processes would be: each its own SqlLedger (own group committers).
    // Writers 0-3 on chains 0-3, writers 4 and 5 both on chain 4.
    const writers = Array.from({ length: 6 }, () => chained(base, 8));
    const plan = writers.map(() => Array.from({ length: 10 }, () => ledgerRecords(merchantId, 3)));
    // The two writers of chain 4 redeliver each other's batches: each record stored once.
    plan[5] = plan[5]!.map((batch, i) => (i % 2 === 0 ? plan[4]![i]! : batch));
    await Promise.all(
      writers.map(async (writer, w) => {
        for (const batch of plan[w]!) {
          await writer.commitBatch(batch, [], [], { partition: partition(Math.min(w, 4)) });
        }
      }),
    );
    const expected = new Set(plan.flat(2).map((r) => r.tx.transactionId));
    const { rows } = await base.db.query<{ transaction_id: string; chain: number }>(
      "SELECT transaction_id, chain FROM transactions WHERE merchant_id = $1",
      [merchantId],
    );
    assert.equal(rows.length, expected.size, "each record stored exactly once");
    assert.deepEqual(new Set(rows.map((r) => r.transaction_id)), expected);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((chain) => rows.filter((r) => r.chain === chain).length),
      [30, 30, 30, 30, 45],
    );
    const verified = await base.verifyChain();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.chains.length, 5);
    assert.ok(verified.checkpoints.checked > 0);
  });

  test("SCL-3 verify finds an altered row on one chain and names that chain only", async () => {
    const { ledger, ids } = await fourChains(ctx);
    await tamper(ledger, "UPDATE transactions SET amount = amount + 1 WHERE transaction_id = $1", [
      ids[2]![4]!,
    ]);
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.equal(result.firstBad?.chain, 2);
    assert.equal(result.firstBad?.transactionId, ids[2]![4]);
    assert.match(result.firstBad!.reason, /row_hash does not match/);
    assert.deepEqual(
      result.chains.map((c) => [c.chain, c.rows, c.problem !== undefined]),
      [
        [0, 6, false],
        [1, 6, false],
        [2, 4, true],
        [3, 6, false],
      ],
    );
    // The last checkpoint names chain 2's head, which was not touched.
    assert.equal(result.checkpoints.firstBad, undefined);
  });

  test("SCL-3 verify finds a row removed from the middle of one chain: the next row's link breaks", async () => {
    const { ledger, ids } = await fourChains(ctx);
    await tamper(ledger, "DELETE FROM transactions WHERE transaction_id = $1", [ids[1]![2]!]);
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.equal(result.firstBad?.chain, 1);
    assert.equal(result.firstBad?.transactionId, ids[1]![3]);
    assert.match(result.firstBad!.reason, /prev_hash does not match .*rows removed/);
    assert.equal(result.chains.find((c) => c.chain === 1)?.rows, 2);
    // Checkpoint 2 named that row as chain 1's head.
    assert.equal(result.checkpoints.firstBad?.id, "2");
    assert.match(result.checkpoints.firstBad!.reason, /names chain 1's row seq \d+, which is gone/);
  });

  test("SCL-3 verify finds rows removed from the end of one chain, by their keys and by the checkpoint naming them", async () => {
    const { ledger, ids } = await fourChains(ctx);
    await tamper(ledger, "DELETE FROM transactions WHERE transaction_id = ANY($1::text[])", [
      `{${ids[3]!.slice(4).join(",")}}`,
    ]);
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.equal(result.firstBad?.chain, 3);
    assert.equal(result.firstBad?.seq, null);
    assert.match(result.firstBad!.reason, /rows cut from the end of chain 3/);
    assert.equal(result.chains.find((c) => c.chain === 3)?.rows, 4);
    // The tail was a head of checkpoint 8, the last one.
    assert.equal(result.checkpoints.firstBad?.id, "8");
  });

  test("SCL-3 verify finds a whole chain removed after a checkpoint, even with its keys, decisions and registration gone", async () => {
    const { ledger } = await fourChains(ctx);
    for (const sql of [
      "DELETE FROM decisions d USING transactions t WHERE t.chain = 2 AND d.merchant_id = t.merchant_id AND d.transaction_id = t.transaction_id",
      "DELETE FROM transactions WHERE chain = 2",
      "DELETE FROM transaction_keys WHERE chain = 2",
      "DELETE FROM ledger_chains WHERE chain = 2",
    ]) {
      await tamper(ledger, sql);
    }
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    // Every remaining chain is sound on its own: only the checkpoints can tell.
    assert.deepEqual(
      result.chains.map((c) => [c.chain, c.problem]),
      [
        [0, undefined],
        [1, undefined],
        [3, undefined],
      ],
    );
    // Checkpoint 3 was the first to name chain 2.
    assert.equal(result.checkpoints.firstBad?.id, "3");
    assert.match(
      result.checkpoints.firstBad!.reason,
      /names chain 2's row seq \d+, which is gone: chain 2 was cut short or removed/,
    );
    assert.equal(result.checkpoints.checked, 2);
  });

  test("SCL-3 verify finds two chains swapped (every row relabelled), which each chain alone cannot show", async () => {
    const { ledger } = await fourChains(ctx);
    for (const table of ["transactions", "transaction_keys"]) {
      await tamper(
        ledger,
        `UPDATE ${table} SET chain = CASE chain WHEN 0 THEN 1 ELSE 0 END WHERE chain IN (0, 1)`,
      );
    }
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.ok(result.chains.every((c) => c.problem === undefined));
    assert.equal(result.checkpoints.firstBad?.id, "1");
    assert.match(
      result.checkpoints.firstBad!.reason,
      /names chain 0's row seq \d+, which is now on chain 1: chains swapped/,
    );
  });

  test("SCL-3 verify finds an altered checkpoint and a removed one", async () => {
    const { ledger } = await fourChains(ctx);
    // Chain 0's head in checkpoint 5 moved back to an older row that does exist.
    await tamper(
      ledger,
      `UPDATE ledger_checkpoints SET heads = jsonb_set(heads, '{0,seq}', '"1"') WHERE id = 5`,
    );
    const altered = await ledger.verifyChain();
    assert.equal(altered.ok, false);
    assert.equal(altered.firstBad, undefined, "every row is sound");
    assert.deepEqual(altered.checkpoints.firstBad, {
      id: "5",
      reason: "checkpoint_hash does not match its heads and time (checkpoint altered)",
    });
    assert.equal(altered.checkpoints.checked, 4);

    const { ledger: other } = await fourChains(ctx);
    await tamper(other, "DELETE FROM ledger_checkpoints WHERE id = 3");
    const removed = await other.verifyChain();
    assert.equal(removed.ok, false);
    assert.deepEqual(removed.checkpoints.firstBad, {
      id: "4",
      reason: "checkpoint ids jump from 2 to 4 (checkpoints removed)",
    });
  });

  test("SCL-3 the chain registry and the checkpoints are append-only in the database", async () => {
    const { ledger } = await fourChains(ctx);
    for (const sql of [
      "UPDATE ledger_checkpoints SET prev_hash = prev_hash",
      "DELETE FROM ledger_checkpoints",
      "TRUNCATE ledger_checkpoints",
      "UPDATE ledger_chains SET chain = chain",
      "DELETE FROM ledger_chains",
      "TRUNCATE ledger_chains",
    ]) {
      await assert.rejects(ledger.db.query(sql), /append-only/, sql);
    }
  });

  test("SCL-3 a ledger written on the one chain before several chains migrates to chain 0, still verifies, and goes on from its last seq", async () => {
    const ledger = await ctx.fresh({ migrate: false });
    const before = loadMigrations().filter((m) => m.name < "20261207110000");
    await migrate(ledger.db, before);
    const merchantId = uniqueMerchant();
    const old = ledgerRecords(merchantId, 5);
    await commitOnTheOneChain(ledger.db, old.slice(0, 3));
    await commitOnTheOneChain(ledger.db, old.slice(3));

    assert.ok((await ledger.migrate()).includes("20261207110000_parallel_chains"));
    const migrated = await ledger.verifyChain();
    assert.equal(migrated.ok, true, JSON.stringify(migrated));
    assert.deepEqual(
      migrated.chains.map((c) => [c.chain, c.rows, c.headSeq]),
      [[0, 5, "5"]],
    );
    const now = chained(ledger);
    await now.commitBatch(ledgerRecords(merchantId, 2), [], []);
    await now.commitBatch(ledgerRecords(merchantId, 2), [], [], { partition: partition(1) });
    const rows = await rowsOf(ledger.db);
    assert.deepEqual(
      rows.map((r) => [r.chain, r.seq]),
      [
        [0, "1"],
        [0, "2"],
        [0, "3"],
        [0, "4"],
        [0, "5"],
        [0, "6"],
        [0, "7"],
        [1, "8"],
        [1, "9"],
      ],
    );
    const verified = await ledger.verifyChain();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.checked, 9);
    assert.equal(verified.checkpoints.checked, 2);
  });
}
