import { encodeId, transactionStoreKey } from "../transaction/key.ts";
import {
  ENTITY_KINDS,
  type EntityKind,
  HISTORY_WINDOW_SECONDS,
  type HistoryEntry,
  type HistoryItem,
  type WindowQuery,
} from "./types.ts";

/** History kept, in the unit of event times and sorted-set scores. */
export const DAY_MS = HISTORY_WINDOW_SECONDS * 1000;

/**
 * Every key written expires this long after its last write (PRC-2: the compliance team's TTL
 * lives in the application, not in ElastiCache settings); trimming bounds the entries inside.
 */
export const HISTORY_TTL_SECONDS = HISTORY_WINDOW_SECONDS;

/**
 * Sums are clamped here: amounts and event times are exact as doubles (both far below 2^53),
 * but a sum over many large amounts may pass 2^53 and silently lose units; a clamped sum stays
 * an exact integer and is still far above any threshold a rule could hold.
 */
export const MAX_SUM = Number.MAX_SAFE_INTEGER;

export function addClamped(sum: number, amount: number): number {
  const next = sum + amount;
  return Math.min(next, MAX_SUM);
}

/*
 * Key layout: one flat keyspace, no hash tags. A transaction's script touches its customer,
 * card, device and IP keys together, which hash to different slots: that is fine on a
 * replication group with cluster mode disabled (the ElastiCache shape CCH-1 deploys), and would
 * need one hash tag per script call under cluster mode enabled.
 *   {prefix}:h:{merchant}:{kind}:{entity}        sorted set: member = encodeMember, score = eventTime
 *   {prefix}:ha:{merchant}:{kind}:{entity}       sorted set, all scores 0: `currency|amount|member`,
 *                                                 amount zero-padded to 16 digits, so a lex range is
 *                                                 one currency's entries by amount (max, bands)
 *   {prefix}:hs:{merchant}:{kind}:{entity}       hash: running aggregates of the `h` set's entries,
 *                                                 l:{currency} / h:{currency} = sum of the amounts'
 *                                                 low 8 digits / the digits above them, c:{card} =
 *                                                 entries with that card, d = distinct cards; a
 *                                                 field is deleted when it reaches 0
 *   (ha and hs exist only while the h set holds AGGREGATE_FROM entries or more, record-history.ts)
 *   {prefix}:r:{merchant}:{transactionId}        string: the member first recorded for the id,
 *                                                 EX 24 h, so an id counts once per entity
 *   {prefix}:seen:{merchant}:{transactionId}     string with EX ttl: ingest claim, and
 *   {prefix}:owner:{ownerId}                     string with PX ttl: its owner's liveness mark
 *                                                 (both src/claims/redis-claims.ts)
 *   {prefix}:history:generation                  string, no ttl: the generation marker (REL-6), set
 *                                                 once the store is known to hold the last 24 h; a
 *                                                 Redis that restarted empty has none
 *   {prefix}:history:rebuilding                  string with PX ttl: the rebuild lock, the owner id
 *                                                 of the process rebuilding from the ledger
 *   {prefix}:history:rebuild-progress            string with PX ttl: JSON {from, cursor, replayed},
 *                                                 how far the rebuild went, written by the lock's
 *                                                 holder after each chunk, deleted with the lock
 *                                                 when the marker is set
 */
export function entityKey(
  prefix: string,
  merchantId: string,
  kind: EntityKind,
  entityId: string,
): string {
  return `${prefix}:h:${encodeId(merchantId)}:${kind}:${encodeId(entityId)}`;
}

/** The amount-ordered companion of entityKey (see the key layout above). */
export function amountKey(prefix: string, merchantId: string, kind: EntityKind, entityId: string) {
  return `${prefix}:ha:${encodeId(merchantId)}:${kind}:${encodeId(entityId)}`;
}

/** The running aggregates of entityKey's entries (see the key layout above). */
export function aggregateKey(
  prefix: string,
  merchantId: string,
  kind: EntityKind,
  entityId: string,
): string {
  return `${prefix}:hs:${encodeId(merchantId)}:${kind}:${encodeId(entityId)}`;
}

export function recordKey(prefix: string, merchantId: string, transactionId: string): string {
  return transactionStoreKey(`${prefix}:r`, { merchantId, transactionId });
}

/** The generation marker: present while the store holds the whole 24 hours (REL-6). */
export function generationKey(prefix: string): string {
  return `${prefix}:history:generation`;
}

/** The lock that lets one process of many rebuild the history from the ledger (REL-6). */
export function rebuildLockKey(prefix: string): string {
  return `${prefix}:history:rebuilding`;
}

/** How far the rebuild went (RebuildProgress), for a process that takes the lock over (REL-6). */
export function rebuildProgressKey(prefix: string): string {
  return `${prefix}:history:rebuild-progress`;
}

/** The kinds the item has, in ENTITY_KINDS order (the order of the script's KEYS). */
export function presentKinds(item: HistoryItem): EntityKind[] {
  return ENTITY_KINDS.filter((kind) => item.entities[kind] !== undefined);
}

/**
 * Sorted-set member: `txId|amount|currency|cardToken|country`, components encoded. Everything
 * an aggregate needs is in the member, so the script reads one structure per entity; and the
 * same transaction always yields the same member, so a redelivery adds nothing.
 */
export function encodeMember(item: HistoryItem): string {
  return [
    encodeId(item.transactionId),
    String(item.amount),
    encodeId(item.currency),
    encodeId(item.cardToken ?? ""),
    encodeId(item.country ?? ""),
  ].join("|");
}

/** A member's fields, still encoded (equality of encoded strings is equality of values). */
export interface MemberFields {
  transactionId: string;
  amount: number;
  currency: string;
  cardToken: string;
  country: string;
}

export function memberFields(member: string): MemberFields {
  const parts = member.split("|");
  if (parts.length !== 5) throw new Error(`malformed history member: ${member}`);
  const [transactionId, amount, currency, cardToken, country] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { transactionId, amount: Number(amount), currency, cardToken, country };
}

export function entryOf(member: string, eventTime: number): HistoryEntry {
  const f = memberFields(member);
  return {
    transactionId: decodeURIComponent(f.transactionId),
    eventTime,
    amount: f.amount,
    currency: decodeURIComponent(f.currency),
    ...(f.country !== "" && { country: decodeURIComponent(f.country) }),
    ...(f.cardToken !== "" && { cardToken: decodeURIComponent(f.cardToken) }),
  };
}

export function windowMsOf(query: WindowQuery): number {
  return Math.round(query.windowSeconds * 1000);
}

/** A band is set when either bound is; a missing bound is open. */
export function bandOf(query: WindowQuery): { min: number; max: number } | null {
  if (query.minAmount === undefined && query.maxAmount === undefined) return null;
  return { min: query.minAmount ?? -Infinity, max: query.maxAmount ?? Infinity };
}

function fail(item: HistoryItem, message: string): never {
  throw new TypeError(`history item ${item.transactionId}: ${message}`);
}

/**
 * Checked before anything is written, so a bad item fails its batch instead of storing a
 * member the script cannot read back or a score that is not an exact integer.
 */
export function validateBatch(items: readonly HistoryItem[], now: number): void {
  if (!Number.isSafeInteger(now))
    throw new TypeError(`now must be integer milliseconds, got ${now}`);
  for (const item of items) {
    if (typeof item.merchantId !== "string" || item.merchantId === "")
      fail(item, "merchantId is required");
    if (typeof item.transactionId !== "string" || item.transactionId === "") {
      fail(item, "transactionId is required");
    }
    if (!Number.isSafeInteger(item.eventTime)) fail(item, "eventTime must be integer milliseconds");
    if (!Number.isSafeInteger(item.amount) || item.amount < 0) {
      fail(item, "amount must be a non-negative safe integer");
    }
    for (const q of item.queries) {
      if (!ENTITY_KINDS.includes(q.entity)) fail(item, `unknown query entity ${String(q.entity)}`);
      if (!(Number.isFinite(q.windowSeconds) && q.windowSeconds > 0)) {
        fail(item, "query windowSeconds must be a positive number");
      }
      if (Number.isNaN(q.minAmount) || Number.isNaN(q.maxAmount)) fail(item, "query band is NaN");
    }
  }
}
