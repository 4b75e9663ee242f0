import type { HistoryItem, WindowQuery } from "../history/types.ts";
import type { HistoryRow } from "../ledger/types.ts";
import { eventTimeOf, type StreamEnvelope } from "../transaction/types.ts";

/** What the history records of a transaction: its entities, amount, card, country and time. */
export function historyItemOf(env: StreamEnvelope, queries: readonly WindowQuery[]): HistoryItem {
  const tx = env.tx;
  const cardToken = tx.paymentMethod.card?.token;
  return {
    merchantId: tx.merchantId,
    transactionId: tx.transactionId,
    eventTime: eventTimeOf(env),
    amount: tx.amount,
    currency: tx.currency,
    ...(tx.country && { country: tx.country }),
    ...(cardToken && { cardToken }),
    entities: {
      customer: tx.customerId,
      ...(cardToken && { card: cardToken }),
      ...(tx.deviceId && { device: tx.deviceId }),
      ...(tx.ipAddress && { ip: tx.ipAddress }),
    },
    queries,
  };
}

/**
 * The same item from a ledger row read for a rebuild (Ledger.scanHistory), so that replaying the
 * ledger stores exactly what processing the transaction stored.
 */
export function historyItemOfRow(row: HistoryRow): HistoryItem {
  return {
    merchantId: row.merchantId,
    transactionId: row.transactionId,
    eventTime: Math.min(row.occurredAt, row.receivedAt),
    amount: row.amount,
    currency: row.currency,
    ...(row.country && { country: row.country }),
    ...(row.cardToken && { cardToken: row.cardToken }),
    entities: {
      customer: row.customerId,
      ...(row.cardToken && { card: row.cardToken }),
      ...(row.deviceId && { device: row.deviceId }),
      ...(row.ipAddress && { ip: row.ipAddress }),
    },
    queries: [],
  };
}
