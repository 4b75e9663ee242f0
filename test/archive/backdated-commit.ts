import { type ChainRow, GENESIS_HASH, rowHash, type SqlLedger } from "../../src/ledger/index.ts";
import type { LedgerRecord } from "../../src/ledger/types.ts";

/**
 * Commits a batch as commitBatch does (claim the keys, take the chain's lock, chain the rows
 * from its head, store rows and decisions in the same transaction), except that recorded_at is
 * the given instant instead of the database clock: how a test gets a ledger holding several
 * days. The rows are genuine chain rows: verifyChain passes over them, and commits made
 * afterwards by the real commitBatch continue the chain. It writes no checkpoint (one due is
 * left to the next real commit).
 */
export async function commitRecordedAt(
  ledger: SqlLedger,
  records: LedgerRecord[],
  recordedAt: string,
  chainId = 0,
): Promise<(ChainRow & { rowHash: string })[]> {
  return ledger.db.transaction(async (tx) => {
    const keys = records.map((r) => ({
      merchant_id: r.tx.merchantId,
      transaction_id: r.tx.transactionId,
    }));
    const { rows: started } = await tx.query<{
      seqs: string;
      seq: string | null;
      row_hash: string | null;
    }>(
      `SELECT s.seqs::text AS seqs, s.head_seq::text AS seq, s.head_hash AS row_hash
       FROM ledger_claim_and_lock($1::text::jsonb, $2::integer, 1, 1) AS s`,
      [JSON.stringify(keys), chainId],
    );
    const seqs = JSON.parse(started[0]!.seqs) as string[];
    let prevHash = started[0]?.row_hash ?? GENESIS_HASH;
    const rows = records.map((record, i) => {
      const chain: ChainRow = {
        seq: seqs[i]!,
        prevHash,
        merchantId: record.tx.merchantId,
        transactionId: record.tx.transactionId,
        customerId: record.tx.customerId,
        occurredAt: new Date(record.tx.occurredAt).toISOString(),
        receivedAt: new Date(record.receivedAt).toISOString(),
        recordedAt,
        amount: String(record.tx.amount),
        currency: record.tx.currency,
        tx: record.tx,
        decision: {
          ...record.decision,
          decidedAt: new Date(record.decision.decidedAt).toISOString(),
        },
      };
      prevHash = rowHash(chain);
      return { ...chain, rowHash: prevHash };
    });
    for (const row of rows) {
      await tx.query(
        `INSERT INTO transactions (seq, merchant_id, transaction_id, customer_id, occurred_at,
           received_at, recorded_at, amount, currency, tx, prev_hash, row_hash, chain)
         VALUES ($1::bigint, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7::timestamptz,
           $8::bigint, $9, $10::text::jsonb, $11, $12, $13::integer)`,
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
          row.prevHash,
          row.rowHash,
          chainId,
        ],
      );
      await tx.query(
        `INSERT INTO decisions (merchant_id, transaction_id, action, score, reasons,
           ruleset_version, decided_at)
         VALUES ($1, $2, $3, $4::double precision, $5::text::jsonb, $6, $7::timestamptz)`,
        [
          row.merchantId,
          row.transactionId,
          row.decision.action,
          row.decision.score,
          JSON.stringify(row.decision.reasons),
          row.decision.rulesetVersion,
          row.decision.decidedAt,
        ],
      );
    }
    return rows;
  });
}
