import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import type { StoredTransaction } from "../../../src/ledger/index.ts";
import { pagedTransactions } from "../../../src/ledger/transactions-repo.ts";
import { parseTransactionInput } from "../../../src/transaction/schema.ts";
import { maskCardNumbers, tokenizeTransaction } from "../../../src/transaction/tokenize.ts";
import { TEST_PAN, wireTransaction } from "../../support/fixtures.ts";
import {
  alertDrafts,
  decision,
  ledgerRecord,
  ledgerRecords,
  quarantineRecord,
  type SuiteContext,
  uniqueMerchant,
} from "../ledger.suite.ts";

async function collect(rows: AsyncIterable<StoredTransaction>): Promise<StoredTransaction[]> {
  const out: StoredTransaction[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

const ids = (rows: StoredTransaction[]) => rows.map((r) => r.transaction.transactionId);

export function registerQueryTests(ctx: SuiteContext): void {
  test("QRY-1 getTransaction finds a merchant's transaction and nothing of another merchant", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const record = ledgerRecord({ merchantId });
    await ledger.commitBatch([record], [], []);
    assert.equal(
      (await ledger.getTransaction(merchantId, record.tx.transactionId))?.transaction.amount,
      12800,
    );
    assert.equal(await ledger.getTransaction(uniqueMerchant(), record.tx.transactionId), null);
    assert.equal(await ledger.getTransaction(merchantId, "tx-unknown"), null);
  });

  test("QRY-1 existingIds returns which of the ids the merchant already stored", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 3);
    await ledger.commitBatch(records, [], []);
    const asked = [records[0]!.tx.transactionId, "tx-new", records[2]!.tx.transactionId];
    assert.deepEqual(await ledger.existingIds(merchantId, asked), new Set([asked[0], asked[2]]));
    assert.deepEqual(await ledger.existingIds(uniqueMerchant(), asked), new Set());
    assert.deepEqual(await ledger.existingIds(merchantId, []), new Set());
  });

  test("QRY-1 exportTransactions returns [from, to) of one merchant ordered by occurredAt then seq", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 6, "2026-10-31T23:58:00.000Z");
    // Committed out of order, and two share an instant: seq must break the tie.
    const tie = ledgerRecord({ merchantId, occurredAt: "2026-11-01T09:01:00+09:00" });
    await ledger.commitBatch([records[3]!, records[1]!, tie], [], []);
    await ledger.commitBatch([records[0]!, records[2]!, records[4]!, records[5]!], [], []);
    await ledger.commitBatch(
      ledgerRecords(uniqueMerchant(), 2, "2026-11-01T00:00:00.000Z"),
      [],
      [],
    );

    const from = "2026-10-31T23:59:00Z";
    const to = "2026-11-01T09:03:00+09:00"; // 00:03Z: exclusive
    const expected = [records[1]!, records[2]!, records[3]!, tie, records[4]!].map(
      (r) => r.tx.transactionId,
    );
    assert.deepEqual(ids(await collect(ledger.exportTransactions(merchantId, from, to))), expected);
    // Pages of 2 return the same rows: no duplicate or gap at page boundaries.
    const paged = await collect(pagedTransactions(ledger.db, { from, to, merchantId }, 2));
    assert.deepEqual(ids(paged), expected);
    const first = paged[0]!;
    assert.deepEqual(first.decision, decision());
    assert.match(first.recordedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(
      await collect(
        ledger.exportTransactions(merchantId, "2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z"),
      ),
      [],
    );
  });

  test("QRY-1 scanTransactions covers every merchant in the range, or one when asked", async () => {
    const ledger = ctx.ledger();
    const [m1, m2] = [uniqueMerchant(), uniqueMerchant()];
    // A day no other test uses, so "every merchant" means these two.
    const a = ledgerRecords(m1, 3, "2025-03-03T00:00:00.000Z");
    const b = ledgerRecords(m2, 3, "2025-03-03T00:00:30.000Z");
    await ledger.commitBatch([...b, ...a], [], []);
    const range = ["2025-03-03T00:00:00Z", "2025-03-03T00:02:00Z"] as const;
    const all = await collect(ledger.scanTransactions(...range));
    assert.deepEqual(
      ids(all),
      [a[0], b[0], a[1], b[1]].map((r) => r!.tx.transactionId),
    );
    const one = await collect(ledger.scanTransactions(...range, m2));
    assert.deepEqual(
      ids(one),
      [b[0], b[1]].map((r) => r!.tx.transactionId),
    );
  });

  test("ING-1 API keys are found by their hash only, and revoked keys are ignored", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const hash = (key: string) => createHash("sha256").update(key).digest("hex");
    assert.equal(await ledger.countApiKeys(merchantId), 0);
    const first = await ledger.insertApiKey(merchantId, hash("key-one"));
    const second = await ledger.insertApiKey(merchantId, hash("key-two"));
    assert.deepEqual(first.merchantId, merchantId);
    assert.match(first.id, /^\d+$/);
    assert.deepEqual(await ledger.findApiKey(hash("key-one")), first);
    assert.equal(await ledger.findApiKey("key-one"), null, "the key itself is not what is stored");
    assert.equal(await ledger.countApiKeys(merchantId), 2);
    assert.equal(await ledger.revokeApiKey(first.id), true);
    assert.equal(await ledger.findApiKey(hash("key-one")), null);
    assert.deepEqual(await ledger.findApiKey(hash("key-two")), second);
    assert.equal(await ledger.countApiKeys(merchantId), 1);
    await assert.rejects(ledger.insertApiKey(merchantId, hash("key-two")), "a hash is unique");
  });

  test("PRIV-1 no card-number-like digit run appears anywhere in the stored tables", async () => {
    // The shared ledger: by now it also holds every other test's rows.
    const ledger = ctx.ledger();
    const key = Buffer.alloc(32, 9);
    const records = ["4111111111111111", "5555555555554444", "378282246310005", TEST_PAN].map(
      (number, i) => {
        const parsed = parseTransactionInput(
          // The fixture's default id embeds Date.now() (13 digits): not card data, so replaced.
          wireTransaction({
            transactionId: `tx-priv-${i}`,
            paymentMethod: { type: "card", card: { number } },
          }),
        );
        assert.ok(parsed.ok, `fixture ${i} is valid`);
        return { ...ledgerRecord(), tx: tokenizeTransaction(parsed.value, key) };
      },
    );
    const bad = quarantineRecord({
      payload: maskCardNumbers(`{"card":"${TEST_PAN}","amount":"x"}`),
    });
    await ledger.commitBatch(records, records.flatMap(alertDrafts), [bad]);
    for (const r of records)
      assert.ok(await ledger.getTransaction(r.tx.merchantId, r.tx.transactionId));

    // schema_migrations is left out: migration names are 14-digit timestamps, not card data.
    const { rows: tables } = await ledger.db.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables
       WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY 1`,
    );
    assert.ok(tables.length >= 7, tables.map((t) => t.name).join());
    let dumped = 0;
    for (const { name } of tables) {
      // Left out: hex SHA-256 values (chain, checkpoint and key hashes, also inside the
      // checkpoints' heads) and Kinesis sequence numbers (56 digits): neither is card data,
      // and both hold long digit runs.
      const { rows } = await ledger.db.query<{ line: string }>(
        `SELECT (to_jsonb(t) - 'prev_hash' - 'row_hash' - 'key_hash' - 'sequence_number')::text AS line
         FROM "${name}" t`,
      );
      for (const { line: raw } of rows) {
        dumped++;
        const line = raw.replace(/"[0-9a-f]{64}"/g, '"<sha-256>"');
        assert.doesNotMatch(line, /\d{13,19}/, `${name}: ${line}`);
        assert.doesNotMatch(line.replace(/[\s-]/g, ""), new RegExp(TEST_PAN), name);
      }
    }
    assert.ok(dumped >= records.length * 3, `${dumped} rows dumped`);
  });
}
