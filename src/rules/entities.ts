import type { Transaction } from "../transaction/types.ts";
import type { EntityKind } from "./vocabulary.ts";

/**
 * The id under which the history tracks the transaction's entity (same mapping as the
 * processor's history item); undefined when the transaction has none, and then rules on that
 * entity do not fire.
 */
export function entityIdOf(tx: Transaction, entity: EntityKind): string | undefined {
  const id =
    entity === "customer"
      ? tx.customerId
      : entity === "card"
        ? tx.paymentMethod.card?.token
        : entity === "device"
          ? tx.deviceId
          : tx.ipAddress;
  return id === "" ? undefined : id;
}

/** How reasons name an entity for an analyst. */
export function entityLabel(entity: EntityKind): string {
  return entity === "ip" ? "IP" : entity;
}
