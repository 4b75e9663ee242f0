import { encodeId } from "../transaction/key.ts";
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

/** Width of the sum buckets a busy entity keeps (SCL-1): whole minutes, and hours. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/*
 * Key layout (SCL-2): every key of one entity carries the entity's hash tag, so an entity's keys
 * share a hash slot (Redis Cluster) and one script call touches one entity only.
 *   {prefix}:h:{<merchant>:<kind>:<entity>}:t   sorted set: member `<id>|<content>` (memberOf,
 *                                                 contentOf), score event time
 *   and for a busy entity only (AGGREGATE_FROM entries, record-entity.lua):
 *   {prefix}:h:{...}:d                           hash: transaction id -> content, the first one
 *                                                 recorded for the id
 *   {prefix}:h:{...}:a                           hash: running totals n, n:<cur>, S:<cur> / s:<cur>
 *                                                 (sum above / of the low 8 digits); buckets
 *                                                 n<minute>:<cur> / a<minute>:<cur> (count / sum),
 *                                                 N<hour>:<cur> / A<hour>:<cur>; `bands`, the band
 *                                                 sets kept; `built`.
 *                                                 Zero fields are deleted.
 *   {prefix}:h:{...}:c                           sorted set: member card token, score the card's
 *                                                 latest event time
 *   {prefix}:h:{...}:b:<cur>:<min>:<max>          sorted set: the transaction ids in the amount
 *                                                 band, by event time
 *   {prefix}:seen:{merchant}:{transactionId}     string with EX ttl: ingest claim, and
 *   {prefix}:owner:{ownerId}                     string with PX ttl: its owner's liveness mark
 *                                                 (both src/claims/redis-claims.ts)
 *   {prefix}:{history}:generation                string, no ttl: the generation marker (REL-6), set
 *                                                 once the store is known to hold the last 24 h; a
 *                                                 Redis that restarted empty has none
 *   {prefix}:{history}:rebuilding                string with PX ttl: the rebuild lock, the owner id
 *                                                 of the process rebuilding from the ledger
 *   {prefix}:{history}:rebuild-progress          string with PX ttl: JSON {from, cursor, replayed},
 *                                                 how far the rebuild went (the three share a hash
 *                                                 tag: one script sets the marker and frees the lock)
 * Components are percent-encoded (encodeId), so no "{", "}", ":" or "|" occurs inside one.
 */
export interface EntityKeys {
  times: string;
  contents: string;
  aggregates: string;
  cards: string;
}

function entityBase(prefix: string, merchantId: string, kind: EntityKind, entityId: string) {
  return `${prefix}:h:{${encodeId(merchantId)}:${kind}:${encodeId(entityId)}}`;
}

export function entityKeys(
  prefix: string,
  merchantId: string,
  kind: EntityKind,
  entityId: string,
): EntityKeys {
  const base = entityBase(prefix, merchantId, kind, entityId);
  return {
    times: `${base}:t`,
    contents: `${base}:d`,
    aggregates: `${base}:a`,
    cards: `${base}:c`,
  };
}

/** The band set of a banded query, in the transaction's (encoded) currency. */
export function bandKey(
  prefix: string,
  merchantId: string,
  kind: EntityKind,
  entityId: string,
  currency: string,
  band: { min: number; max: number },
): string {
  const base = entityBase(prefix, merchantId, kind, entityId);
  return `${base}:b:${currency}:${boundText(band.min)}:${boundText(band.max)}`;
}

/** A band bound as the script reads it: "" for an open bound. */
export function boundText(value: number): string {
  return Number.isFinite(value) ? String(value) : "";
}

/** The generation marker: present while the store holds the whole 24 hours (REL-6). */
export function generationKey(prefix: string): string {
  return `${prefix}:{history}:generation`;
}

/** The lock that lets one process of many rebuild the history from the ledger (REL-6). */
export function rebuildLockKey(prefix: string): string {
  return `${prefix}:{history}:rebuilding`;
}

/** How far the rebuild went (RebuildProgress), for a process that takes the lock over (REL-6). */
export function rebuildProgressKey(prefix: string): string {
  return `${prefix}:{history}:rebuild-progress`;
}

/** The kinds the item has, in ENTITY_KINDS order (the order of the script's KEYS). */
export function presentKinds(item: HistoryItem): EntityKind[] {
  return ENTITY_KINDS.filter((kind) => item.entities[kind] !== undefined);
}

/**
 * An entry's content as the contents hash keeps it: `amount|currency|cardToken|country`,
 * components encoded. The same transaction always yields the same content.
 */
export function contentOf(item: HistoryItem): string {
  return [
    String(item.amount),
    encodeId(item.currency),
    encodeId(item.cardToken ?? ""),
    encodeId(item.country ?? ""),
  ].join("|");
}

/** A content's fields, still encoded (equality of encoded strings is equality of values). */
export interface ContentFields {
  amount: number;
  currency: string;
  cardToken: string;
  country: string;
}

export function contentFields(content: string): ContentFields {
  const parts = content.split("|");
  if (parts.length !== 4) throw new Error(`malformed history content: ${content}`);
  const [amount, currency, cardToken, country] = parts as [string, string, string, string];
  return { amount: Number(amount), currency, cardToken, country };
}

/** A member of an entity's times set: the encoded id, then the content. */
export function memberOf(transactionId: string, content: string): string {
  return `${transactionId}|${content}`;
}

/** The id and the content of a member of a times set. */
export function splitMember(member: string): [transactionId: string, content: string] {
  const bar = member.indexOf("|");
  if (bar < 0) throw new Error(`malformed history member: ${member}`);
  return [member.slice(0, bar), member.slice(bar + 1)];
}

export function entryOf(member: string, eventTime: number): HistoryEntry {
  const [transactionId, content] = splitMember(member);
  const f = contentFields(content);
  return {
    transactionId: decodeURIComponent(transactionId),
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
