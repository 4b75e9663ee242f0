import type { Alert } from "../ledger/types.ts";

/**
 * Where the processor hands new alerts once they are committed (PRC-5): the live server-sent
 * events hub, and the alert outbox, which it only wakes (the webhook and SNS are delivered
 * from the ledger, REL-6). Publishing happens after the ledger commit, so an alert is never
 * announced that the ledger does not hold.
 */
export interface AlertPublisher {
  publish(alerts: Alert[]): Promise<void>;
}

/** Sends to every publisher; one failing does not stop the others, and the first error rethrows. */
export function fanOut(publishers: AlertPublisher[]): AlertPublisher {
  return {
    async publish(alerts) {
      if (alerts.length === 0) return;
      const results = await Promise.allSettled(publishers.map((p) => p.publish(alerts)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
}
