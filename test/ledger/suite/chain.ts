import assert from "node:assert/strict";
import { test } from "node:test";
import { GENESIS_HASH, rowHash, SqlLedger, verifyChain } from "../../../src/ledger/index.ts";
import {
  chainRowOf,
  LEDGER_ROW_COLUMNS,
  LEDGER_ROW_FROM,
  type LedgerRow,
} from "../../../src/ledger/rows.ts";
import { ledgerRecords, type SuiteContext, tamper, uniqueMerchant } from "../ledger.suite.ts";

/** A fresh ledger with three batches of 3 (seq 1..9), ready to be tampered with. */
async function chainOfNine(ctx: SuiteContext): Promise<{ ledger: SqlLedger; ids: string[] }> {
  const ledger = await ctx.fresh();
  const merchantId = uniqueMerchant();
  const records = ledgerRecords(merchantId, 9);
  for (let i = 0; i < 9; i += 3) await ledger.commitBatch(records.slice(i, i + 3), [], []);
  return { ledger, ids: records.map((r) => r.tx.transactionId) };
}

export function registerChainTests(ctx: SuiteContext): void {
  test("PRC-4 verifyChain passes on an untouched ledger and links every row to the one before", async () => {
    // The shared ledger: never tampered with, and by now full of other tests' batches.
    const ledger = ctx.ledger();
    await ledger.commitBatch(ledgerRecords(uniqueMerchant(), 5), [], []);
    const { rows } = await ledger.db.query<{
      chain: number;
      seq: string;
      prev_hash: string;
      row_hash: string;
    }>(
      "SELECT chain, seq::text AS seq, prev_hash, row_hash FROM transactions t ORDER BY t.chain, t.seq",
    );
    const verified = await ledger.verifyChain();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.checked, rows.length);
    // Small pages: the walk must carry the link across page boundaries.
    const paged = await verifyChain(ledger.db, { pageSize: 7 });
    assert.equal(paged.ok, true);
    assert.equal(paged.checked, rows.length);
    // Along each chain seq grows (not consecutively: a refused batch drew numbers it did not
    // keep) and each row links to the one before; the first links to the genesis hash.
    rows.forEach((row, i) => {
      const before = rows[i - 1];
      if (before === undefined || before.chain !== row.chain) {
        assert.equal(row.prev_hash, GENESIS_HASH);
      } else {
        assert.ok(BigInt(row.seq) > BigInt(before.seq));
        assert.equal(row.prev_hash, before.row_hash);
      }
    });
  });

  test("PRC-4 verifyChain on an empty ledger is ok with nothing checked", async () => {
    const ledger = await ctx.fresh();
    assert.deepEqual(await ledger.verifyChain(), {
      ok: true,
      checked: 0,
      chains: [],
      checkpoints: { checked: 0, last: null },
    });
  });

  test("PRC-4 verifyChain detects an altered amount and names the row", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(ledger, "UPDATE transactions SET amount = amount + 1 WHERE transaction_id = $1", [
      ids[4]!,
    ]);
    const result = await verifyChain(ledger.db, { pageSize: 2 });
    assert.equal(result.ok, false);
    assert.equal(result.checked, 4);
    assert.equal(result.firstBad?.seq, "5");
    assert.equal(result.firstBad?.transactionId, ids[4]);
    assert.match(result.firstBad!.reason, /row_hash does not match/);
  });

  test("PRC-4 verifyChain detects an altered decision and names the row", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(
      ledger,
      "UPDATE decisions SET action = 'allow', score = 0 WHERE transaction_id = $1",
      [ids[6]!],
    );
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.deepEqual(
      { seq: result.firstBad?.seq, transactionId: result.firstBad?.transactionId },
      { seq: "7", transactionId: ids[6] },
    );
  });

  test("PRC-4 verifyChain detects an altered payload (the stored transaction jsonb)", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(
      ledger,
      `UPDATE transactions SET tx = jsonb_set(tx, '{customerId}', '"someone-else"') WHERE transaction_id = $1`,
      [ids[0]!],
    );
    const result = await ledger.verifyChain();
    assert.equal(result.firstBad?.seq, "1");
    assert.equal(result.checked, 0);
  });

  test("PRC-4 verifyChain detects a row re-hashed after tampering: the next row's link breaks", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(ledger, "UPDATE transactions SET amount = 1 WHERE transaction_id = $1", [ids[2]!]);
    // A careful tamperer recomputes the altered row's own hash; the next row still holds the old one.
    const { rows } = await ledger.db.query<LedgerRow>(
      `SELECT ${LEDGER_ROW_COLUMNS} FROM ${LEDGER_ROW_FROM} WHERE t.transaction_id = $1`,
      [ids[2]!],
    );
    const forged = rowHash(chainRowOf(rows[0]!)!);
    await tamper(ledger, "UPDATE transactions SET row_hash = $1 WHERE transaction_id = $2", [
      forged,
      ids[2]!,
    ]);
    const result = await ledger.verifyChain();
    assert.equal(result.firstBad?.seq, "4");
    assert.equal(result.firstBad?.transactionId, ids[3]);
    assert.match(result.firstBad!.reason, /prev_hash/);
  });

  test("PRC-4 verifyChain detects a deleted row: the next row's link breaks", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(ledger, "DELETE FROM transactions WHERE transaction_id = $1", [ids[3]!]);
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.equal(result.firstBad?.seq, "5");
    assert.match(result.firstBad!.reason, /prev_hash does not match .*rows removed/);
  });

  test("PRC-4 verifyChain detects rows cut from the end of the chain", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(ledger, "DELETE FROM transactions WHERE transaction_id = $1", [ids[8]!]);
    const result = await ledger.verifyChain();
    assert.equal(result.ok, false);
    assert.equal(result.checked, 8);
    assert.equal(result.firstBad?.transactionId, ids[8]);
    // The row is gone: no seq to name, but its chain and where the chain now ends.
    assert.equal(result.firstBad?.seq, null);
    assert.equal(result.firstBad?.chain, 0);
    assert.match(result.firstBad!.reason, /cut from the end of chain 0, which ends at seq 8/);
  });

  test("PRC-4 verifyChain detects a removed decision", async () => {
    const { ledger, ids } = await chainOfNine(ctx);
    await tamper(ledger, "DELETE FROM decisions WHERE transaction_id = $1", [ids[1]!]);
    const result = await ledger.verifyChain();
    assert.equal(result.firstBad?.seq, "2");
    assert.match(result.firstBad!.reason, /decision is missing/);
  });

  test("PRC-4 concurrent batches of one chain get distinct seq numbers in one unbroken chain (writers serialise on the chain's lock)", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 40);
    // Eight writers over one database, as eight processes would be: each SqlLedger groups only
    // its own batches, so their transactions meet at the lock of chain 0, where each row must
    // get a distinct seq and the link to the row committed just before it.
    const writers = Array.from({ length: 8 }, () => new SqlLedger(ledger.db));
    await Promise.all(
      writers.map((writer, i) => writer.commitBatch(records.slice(i * 5, i * 5 + 5), [], [])),
    );
    const { rows } = await ledger.db.query<{ seq: string }>(
      "SELECT seq::text AS seq FROM transactions t WHERE t.merchant_id = $1 ORDER BY t.seq",
      [merchantId],
    );
    assert.equal(new Set(rows.map((r) => r.seq)).size, 40);
    assert.equal((await ledger.verifyChain()).ok, true);
  });
}
