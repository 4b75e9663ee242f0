import type { Alert } from "../ledger/types.ts";
import type { AlertPublisher } from "./publisher.ts";

type Listener = (alert: Alert) => void;

/**
 * In-process fan-out of new alerts to live subscribers (the SSE feed), per merchant.
 * Subscribers that are gone simply stop receiving; nothing is buffered for them.
 */
export class AlertHub implements AlertPublisher {
  private readonly listeners = new Map<string, Set<Listener>>();

  subscribe(merchantId: string, listener: Listener): () => void {
    let set = this.listeners.get(merchantId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(merchantId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(merchantId);
    };
  }

  subscriberCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  async publish(alerts: Alert[]): Promise<void> {
    for (const alert of alerts) {
      for (const listener of this.listeners.get(alert.merchantId) ?? []) listener(alert);
    }
  }
}
