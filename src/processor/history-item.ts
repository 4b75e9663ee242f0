import type { HistoryItem, WindowQuery } from "../history/types.ts";
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
