import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { SqlLedger } from "../../src/ledger/index.ts";
import type { AlertDraft, LedgerRecord, QuarantineRecord } from "../../src/ledger/types.ts";
import type { Decision, Transaction } from "../../src/transaction/types.ts";
import { registerAlertTests } from "./suite/alerts.ts";
import { registerApiKeyTests } from "./suite/api-keys.ts";
import { registerChainTests } from "./suite/chain.ts";
import { registerParallelChainTests } from "./suite/chains.ts";
import { registerHistoryRowTests } from "./suite/history-rows.ts";
import { registerQueryTests } from "./suite/queries.ts";
import { registerStorageTests } from "./suite/storage.ts";

/**
 * The Ledger contract, run unchanged against every implementation (PostgreSQL and PGlite):
 * one SQL code path means one suite. Each test works under its own merchant id, so tests
 * share a ledger; tests that must break the ledger (tampering) open a fresh one.
 */

/** A ledger plus how to throw it away (close it; drop its schema on PostgreSQL). */
export interface OpenedLedger {
  ledger: SqlLedger;
  dispose(): Promise<void>;
}

/** Opens a new, empty ledger on a bare database (not migrated). */
export type LedgerFactory = () => Promise<OpenedLedger>;

export interface SuiteContext {
  /** The ledger shared by the tests of this run. */
  ledger(): SqlLedger;
  /** A fresh ledger for one test (migrated unless told not to), disposed when the suite ends. */
  fresh(options?: { migrate?: boolean }): Promise<SqlLedger>;
}

// ---- fixture builders ---------------------------------------------------------------------

let counter = 0;

export function uniqueMerchant(): string {
  return `m-${randomBytes(4).toString("hex")}`;
}

/** A tokenized transaction, as the processor hands it to the ledger. */
export function ledgerTransaction(overrides: Partial<Transaction> = {}): Transaction {
  counter++;
  return {
    transactionId: `tx-${counter}-${randomBytes(3).toString("hex")}`,
    occurredAt: "2026-11-21T09:30:00+09:00",
    merchantId: "japancart",
    customerId: "cust-42",
    amount: 12800,
    currency: "JPY",
    paymentMethod: {
      type: "card",
      card: { token: "tok_Zm9vYmFyYmF6cXV4", bin: "411111", last4: "1111" },
    },
    channel: "web",
    ipAddress: "203.0.113.7",
    deviceId: "dev-9f2c",
    country: "JP",
    mcc: "5732",
    metadata: { orderId: "o-1" },
    ...overrides,
  };
}

export function decision(overrides: Partial<Decision> = {}): Decision {
  return {
    action: "review",
    score: 0.65,
    reasons: [
      { rule: "velocity-customer-1h", score: 0.65, detail: "6 transactions in 1h (max 5)" },
    ],
    rulesetVersion: "2026-11-01.1",
    decidedAt: "2026-11-21T00:30:01.250Z",
    ...overrides,
  };
}

export function ledgerRecord(
  tx: Partial<Transaction> = {},
  options: { decision?: Partial<Decision>; receivedAt?: string } = {},
): LedgerRecord {
  return {
    tx: ledgerTransaction(tx),
    receivedAt: options.receivedAt ?? "2026-11-21T00:30:01.000Z",
    decision: decision(options.decision),
  };
}

/** n records of one merchant, occurring a minute apart from `start`. */
export function ledgerRecords(
  merchantId: string,
  n: number,
  start = "2026-11-21T00:00:00.000Z",
): LedgerRecord[] {
  return Array.from({ length: n }, (_, i) =>
    ledgerRecord({
      merchantId,
      occurredAt: new Date(Date.parse(start) + i * 60_000).toISOString(),
    }),
  );
}

/** The alerts the processor would raise for a record: one per reason. */
export function alertDrafts(record: LedgerRecord): AlertDraft[] {
  return record.decision.reasons.map((reason) => ({
    merchantId: record.tx.merchantId,
    transactionId: record.tx.transactionId,
    customerId: record.tx.customerId,
    rule: reason.rule,
    action: record.decision.action,
    score: reason.score,
    detail: reason.detail,
  }));
}

export function quarantineRecord(overrides: Partial<QuarantineRecord> = {}): QuarantineRecord {
  counter++;
  return {
    source: "test-stream",
    // Kinesis sequence numbers are 56-digit decimals.
    sequenceNumber: `4959${String(Date.now()).padStart(40, "0")}${String(counter).padStart(12, "0")}`,
    partitionKey: "cust-42",
    reason: "amount must be a positive integer",
    payload: '{"amount":-1,"card":"411111******1111"}',
    ...overrides,
  };
}

/** Row counts of every ledger table for one merchant (quarantine has no merchant). */
export async function rowCounts(
  ledger: SqlLedger,
  merchantId: string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ["transaction_keys", "transactions", "decisions", "alerts"]) {
    const { rows } = await ledger.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE merchant_id = $1`,
      [merchantId],
    );
    counts[table] = rows[0]!.n;
  }
  const { rows } = await ledger.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE a.merchant_id = $1",
    [merchantId],
  );
  counts.alert_events = rows[0]!.n;
  return counts;
}

/** Runs SQL as a superuser with triggers off: how the tests play a tamperer. */
export async function tamper(
  ledger: SqlLedger,
  sql: string,
  params: (string | number)[] = [],
): Promise<void> {
  await ledger.db.transaction(async (tx) => {
    await tx.query("SET LOCAL session_replication_role = replica");
    await tx.query(sql, params);
  });
}

// ---- the suite ----------------------------------------------------------------------------

export function ledgerSuite(name: string, factory: LedgerFactory): void {
  describe(`Ledger contract: ${name}`, () => {
    let shared: OpenedLedger | undefined;
    const extra: OpenedLedger[] = [];

    before(async () => {
      shared = await factory();
      await shared.ledger.migrate();
    });

    after(async () => {
      for (const opened of [...extra, ...(shared ? [shared] : [])]) await opened.dispose();
    });

    const ctx: SuiteContext = {
      ledger: () => {
        assert.ok(shared, "the shared ledger did not open");
        return shared.ledger;
      },
      fresh: async ({ migrate = true } = {}) => {
        const opened = await factory();
        extra.push(opened);
        if (migrate) await opened.ledger.migrate();
        return opened.ledger;
      },
    };

    test("PRC-4 the factory's ledger is reachable and migrated", async () => {
      await ctx.ledger().ping();
      assert.deepEqual(await ctx.ledger().migrate(), []);
    });

    registerStorageTests(ctx);
    registerChainTests(ctx);
    registerParallelChainTests(ctx);
    registerAlertTests(ctx);
    registerQueryTests(ctx);
    registerHistoryRowTests(ctx);
    registerApiKeyTests(ctx);
  });
}
