import assert from "node:assert/strict";
import { test } from "node:test";
import { loadMigrations, type SqlClient, SqlLedger } from "../../../src/ledger/index.ts";
import { existingIds } from "../../../src/ledger/transactions-repo.ts";
import type { Transaction } from "../../../src/transaction/types.ts";
import {
  alertDrafts,
  ledgerRecord,
  ledgerRecords,
  quarantineRecord,
  rowCounts,
  type SuiteContext,
  uniqueMerchant,
} from "../ledger.suite.ts";

/** Counts the statements a ledger sends, inside transactions too, and its transactions. */
function counting(db: SqlClient): {
  client: SqlClient;
  statements: () => number;
  transactions: () => number;
} {
  let n = 0;
  let transactions = 0;
  const wrap = (inner: SqlClient): SqlClient => ({
    query: (text, params, options) => {
      n++;
      return inner.query(text, params, options);
    },
    exec: (script) => {
      n++;
      return inner.exec(script);
    },
    transaction: (fn) => {
      transactions++;
      return inner.transaction((tx) => fn(wrap(tx)));
    },
    close: () => inner.close(),
  });
  return { client: wrap(db), statements: () => n, transactions: () => transactions };
}

const APPEND_ONLY_TABLES = [
  "transactions",
  "transaction_keys",
  "decisions",
  "alert_events",
  "quarantine",
];

export function registerStorageTests(ctx: SuiteContext): void {
  test("PRC-4 migrations apply in file order, are recorded, and a second migrate applies nothing", async () => {
    const ledger = await ctx.fresh({ migrate: false });
    const names = loadMigrations().map((m) => m.name);
    assert.ok(names.length >= 2);
    assert.deepEqual([...names].sort(), names);
    assert.deepEqual(await ledger.migrate(), names);
    const { rows } = await ledger.db.query<{ name: string }>(
      "SELECT name FROM schema_migrations ORDER BY name",
    );
    assert.deepEqual(
      rows.map((r) => r.name),
      names,
    );
    assert.deepEqual(await ledger.migrate(), []);
  });

  test("PRC-4 concurrent migrate calls apply each migration exactly once", async () => {
    const ledger = await ctx.fresh({ migrate: false });
    const names = loadMigrations().map((m) => m.name);
    const results = await Promise.all([ledger.migrate(), ledger.migrate(), ledger.migrate()]);
    assert.deepEqual(results.flat().sort(), names);
    const { rows } = await ledger.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM schema_migrations",
    );
    assert.equal(rows[0]!.n, names.length);
  });

  test("PRC-4 a batch stores each transaction once with its decision, ruleset version and reasons", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const [a, b] = ledgerRecords(merchantId, 2);
    const result = await ledger.commitBatch([a!, b!, { ...a! }], [], []);
    assert.deepEqual(
      result.inserted.map((r) => r.tx.transactionId),
      [a!.tx.transactionId, b!.tx.transactionId],
    );
    const stored = await ledger.getTransaction(merchantId, a!.tx.transactionId);
    assert.ok(stored);
    assert.deepEqual(stored.transaction, a!.tx);
    assert.deepEqual(stored.decision, a!.decision);
    assert.equal(stored.receivedAt, a!.receivedAt);
    assert.match(stored.seq, /^[1-9]\d*$/);
    assert.deepEqual(await rowCounts(ledger, merchantId), {
      transaction_keys: 2,
      transactions: 2,
      decisions: 2,
      alerts: 0,
      alert_events: 0,
    });
  });

  test("PRC-4 a batch committed twice leaves row counts unchanged and returns nothing new", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 3);
    const drafts = records.flatMap(alertDrafts);
    const bad = [quarantineRecord()];
    const first = await ledger.commitBatch(records, drafts, bad);
    assert.equal(first.inserted.length, 3);
    assert.equal(first.alerts.length, 3);
    assert.equal(first.quarantined, 1);
    const before = await rowCounts(ledger, merchantId);

    const again = await ledger.commitBatch(records, drafts, bad);
    assert.deepEqual(again, { inserted: [], alerts: [], quarantined: 0 });
    assert.deepEqual(await rowCounts(ledger, merchantId), before);
  });

  test("PRC-4 a redelivered batch with one new record stores only that record and its alerts", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const [old, fresh] = ledgerRecords(merchantId, 2);
    await ledger.commitBatch([old!], alertDrafts(old!), []);
    const result = await ledger.commitBatch(
      [old!, fresh!],
      [...alertDrafts(old!), ...alertDrafts(fresh!)],
      [],
    );
    assert.deepEqual(
      result.inserted.map((r) => r.tx.transactionId),
      [fresh!.tx.transactionId],
    );
    assert.deepEqual(
      result.alerts.map((a) => a.transactionId),
      [fresh!.tx.transactionId],
    );
  });

  test("PRC-4 commitBatch sends the same two statements for 1 record and for 200", async () => {
    const base = ctx.ledger();
    const statementsFor = async (n: number) => {
      const { client, statements } = counting(base.db);
      const merchantId = uniqueMerchant();
      const records = ledgerRecords(merchantId, n);
      const ledger = new SqlLedger(client);
      // Partitions are prepared once per process and month: warm that up first.
      await ledger.commitBatch([ledgerRecord({ merchantId })], [], []);
      const start = statements();
      await ledger.commitBatch(records, records.flatMap(alertDrafts), [quarantineRecord()]);
      return statements() - start;
    };
    const one = await statementsFor(1);
    const many = await statementsFor(200);
    assert.equal(many, one);
    // Claim and lock, then write: with BEGIN and COMMIT, four round trips a commit.
    assert.equal(one, 2);
  });

  test("PRC-4 PRC-1 batches committed at once by several partitions share transactions, and each is stored once with its own result", async () => {
    const { client, transactions } = counting(ctx.ledger().db);
    const ledger = new SqlLedger(client);
    const merchantId = uniqueMerchant();
    await ledger.commitBatch([ledgerRecord({ merchantId })], [], []);
    const batches = Array.from({ length: 4 }, (_, i) =>
      ledgerRecords(merchantId, 3, `2026-11-21T0${i + 1}:00:00.000Z`),
    );
    // The last batch also redelivers a record of the second: stored once, for the second.
    const redelivered = { ...batches[1]![2]!, tx: { ...batches[1]![2]!.tx } };
    const handed = [...batches.slice(0, 3), [...batches[3]!, redelivered]];
    const quarantined = handed.map(() => quarantineRecord());
    const before = transactions();
    const results = await Promise.all(
      handed.map((records, i) =>
        ledger.commitBatch(records, records.flatMap(alertDrafts), [quarantined[i]!]),
      ),
    );
    assert.ok(transactions() - before < handed.length, `${transactions() - before} transactions`);
    for (const [i, result] of results.entries()) {
      assert.deepEqual(result.inserted, batches[i]);
      assert.deepEqual(
        result.alerts.map((a) => a.transactionId).sort(),
        batches[i]!.flatMap(alertDrafts)
          .map((a) => a.transactionId)
          .sort(),
      );
      assert.equal(result.quarantined, 1);
    }
    assert.equal((await rowCounts(ledger, merchantId)).transactions, 13);
    assert.equal((await ledger.verifyChain()).ok, true);
  });

  test("PRC-4 a batch the database refuses fails alone when committed with others, which are stored", async () => {
    const { client, transactions } = counting(ctx.ledger().db);
    const ledger = new SqlLedger(client);
    const merchantId = uniqueMerchant();
    await ledger.commitBatch([ledgerRecord({ merchantId })], [], []);
    const [good1, good2] = [ledgerRecords(merchantId, 2), ledgerRecords(merchantId, 2)];
    // Past the bigint column: the insert fails in the database, rolling back its transaction.
    const refused = [ledgerRecord({ merchantId, amount: 2 ** 70 })];
    const before = transactions();
    const outcomes = await Promise.allSettled([
      ledger.commitBatch(good1!, [], []),
      ledger.commitBatch(refused, [], []),
      ledger.commitBatch(good2!, [], []),
    ]);
    // The first batch alone; the other two together, refused; then each of them alone.
    assert.equal(transactions() - before, 4);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.equal((await rowCounts(ledger, merchantId)).transactions, 5);
    assert.equal(await ledger.getTransaction(merchantId, refused[0]!.tx.transactionId), null);
  });

  test("ING-1 the ingest's duplicate check reads the keys asked about, not every key of the merchant", async () => {
    const ledger = await ctx.fresh();
    const merchantId = uniqueMerchant();
    // Many keys and no statistics yet: the situation in which the planner chose to read all.
    await ledger.db.query(
      `INSERT INTO transaction_keys (merchant_id, transaction_id)
       SELECT $1, 'k' || n FROM generate_series(1, 5000) AS n`,
      [merchantId],
    );
    const asked = Array.from({ length: 20 }, (_, i) => `k${i * 200 + 1}`).concat(["absent"]);
    const keysRead = `SELECT (coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0))::int AS n
      FROM pg_stat_xact_user_tables
      WHERE relname = 'transaction_keys' AND schemaname = current_schema()`;
    const { probe, all } = await ledger.db.transaction(async (tx) => {
      // An index-only scan reads no rows it could count: every plan must fetch what it reads.
      await tx.query("SET LOCAL enable_indexonlyscan = off");
      const read = async () => (await tx.query<{ n: number }>(keysRead)).rows[0]?.n ?? 0;
      const start = await read();
      const found = await existingIds(tx, merchantId, asked);
      assert.deepEqual([...found].sort(), asked.slice(0, 20).sort());
      const afterProbe = await read();
      // What reading every key looks like in the same counters, so they are known to count.
      await tx.query("SELECT count(*) FROM transaction_keys WHERE merchant_id = $1", [merchantId]);
      return { probe: afterProbe - start, all: (await read()) - afterProbe };
    });
    assert.ok(all >= 5000, `reading every key counted ${all}`);
    assert.ok(probe <= asked.length, `${probe} keys read for ${asked.length} asked`);
  });

  test("ING-1 the duplicate check finds ids with quotes, backslashes, commas and braces", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const odd = ['a"b', "c\\d", "e,f", "{g}", "h i", "NULL"];
    const records = odd.map((transactionId) => ledgerRecord({ merchantId, transactionId }));
    await ledger.commitBatch(records.slice(0, 4), [], []);
    assert.deepEqual(
      [...(await ledger.existingIds(merchantId, odd))].sort(),
      odd.slice(0, 4).sort(),
    );
  });

  for (const table of APPEND_ONLY_TABLES) {
    test(`PRC-4 UPDATE, DELETE and TRUNCATE on ${table} fail in the database`, async () => {
      const ledger = ctx.ledger();
      const merchantId = uniqueMerchant();
      const [record] = ledgerRecords(merchantId, 1);
      await ledger.commitBatch([record!], alertDrafts(record!), [quarantineRecord()]);
      const column =
        table === "alert_events" ? "note" : table === "quarantine" ? "reason" : "transaction_id";
      // CASCADE, or TRUNCATE transaction_keys would stop at its foreign keys before the trigger.
      for (const sql of [
        `UPDATE ${table} SET ${column} = ${column}`,
        `DELETE FROM ${table}`,
        `TRUNCATE ${table} CASCADE`,
      ]) {
        await assert.rejects(ledger.db.query(sql), /append-only/, sql);
      }
      assert.ok(await ledger.getTransaction(merchantId, record!.tx.transactionId));
    });
  }

  test("PRC-4 rows land in the month partition of recorded_at, and partitions refuse TRUNCATE", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    await ledger.commitBatch(ledgerRecords(merchantId, 2), [], []);
    const { rows } = await ledger.db.query<{ partition: string; month: string }>(
      `SELECT DISTINCT tableoid::regclass::text AS partition,
         to_char(recorded_at AT TIME ZONE 'UTC', '"y"YYYY"m"MM') AS month
       FROM transactions WHERE merchant_id = $1`,
      [merchantId],
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.partition, new RegExp(`transactions_${rows[0]!.month}$`));
    const { rows: parts } = await ledger.db.query<{ child: string }>(
      `SELECT c.relname AS child FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'transactions'::regclass ORDER BY 1`,
    );
    const children = parts.map((p) => p.child);
    assert.ok(children.includes("transactions_default"), children.join());
    // Created ahead: this month and the next.
    assert.ok(
      children.filter((c) => /^transactions_y\d{4}m\d{2}$/.test(c)).length >= 2,
      children.join(),
    );
    // TRUNCATE skips row triggers: every partition needs, and has, its own statement trigger.
    for (const child of children) {
      await assert.rejects(ledger.db.query(`TRUNCATE ${child}`), /append-only/, child);
    }
    await assert.rejects(
      ledger.db.query(`DELETE FROM ${rows[0]!.partition} WHERE merchant_id = $1`, [merchantId]),
      /append-only/,
    );
  });

  test("PRC-4 quarantined records are stored once per source and sequence number", async () => {
    const ledger = ctx.ledger();
    const bad = quarantineRecord({ reason: "unparseable JSON" });
    assert.equal((await ledger.commitBatch([], [], [bad, { ...bad }])).quarantined, 1);
    assert.equal((await ledger.commitBatch([], [], [bad])).quarantined, 0);
    const listed = (await ledger.listQuarantine(1000)).filter(
      (q) => q.sequenceNumber === bad.sequenceNumber,
    );
    assert.equal(listed.length, 1);
    const { quarantinedAt, ...rest } = listed[0]!;
    assert.deepEqual(rest, bad);
    assert.match(quarantinedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test("PRIV-1 a card number smuggled past the type is not stored", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const record = ledgerRecord({ merchantId });
    const card = { ...record.tx.paymentMethod.card!, number: "4111111111111111" };
    const smuggled = { ...record.tx, paymentMethod: { type: "card", card } } as Transaction;
    await ledger.commitBatch([{ ...record, tx: smuggled }], [], []);
    const stored = await ledger.getTransaction(merchantId, record.tx.transactionId);
    assert.deepEqual(stored?.transaction.paymentMethod.card, record.tx.paymentMethod.card);
    assert.equal((await ledger.verifyChain()).ok, true);
  });
}
