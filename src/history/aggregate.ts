import { encodeId } from "../transaction/key.ts";
import { addClamped, bandOf, DAY_MS, encodeMember, windowMsOf } from "./keys.ts";
import type { HistoryItem, PriorSummary, WindowQuery, WindowResult } from "./types.ts";

/**
 * The aggregates of the in-memory store, written to match the Lua script record-history.lua
 * line for line (same bounds, same tie order, same clamping): the two stores must return the
 * same numbers for the same calls, and the shared contract suite holds both to that.
 */

/** One stored entry; currency, card and country are kept encoded, as in a Redis member. */
export interface StoredEntry {
  member: string;
  eventTime: number;
  amount: number;
  currency: string;
  cardToken: string;
  country: string;
}

export function storedEntryOf(item: HistoryItem): StoredEntry {
  return {
    member: encodeMember(item),
    eventTime: item.eventTime,
    amount: item.amount,
    currency: encodeId(item.currency),
    cardToken: encodeId(item.cardToken ?? ""),
    country: encodeId(item.country ?? ""),
  };
}

/** Redis sorted-set order: by score, then by member bytes (members are ASCII). */
export function compareEntries(a: StoredEntry, b: StoredEntry): number {
  if (a.eventTime !== b.eventTime) return a.eventTime - b.eventTime;
  return a.member < b.member ? -1 : a.member > b.member ? 1 : 0;
}

/** First index whose event time is >= time (entries sorted by compareEntries). */
export function lowerBound(entries: readonly StoredEntry[], time: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.eventTime < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index range [start, end) of the entries in [from, self.eventTime] (own member skipped later). */
function rangeOf(entries: readonly StoredEntry[], from: number, to: number): [number, number] {
  const start = lowerBound(entries, from);
  let end = lowerBound(entries, to + 1);
  if (end < start) end = start;
  return [start, end];
}

export function priorOf(entries: readonly StoredEntry[], self: StoredEntry): PriorSummary {
  let count = 0;
  let sameCurrencyCount = 0;
  let sameCurrencySum = 0;
  let sameCurrencyMax = 0;
  let last: StoredEntry | null = null;
  const [start, end] = rangeOf(entries, self.eventTime - DAY_MS, self.eventTime);
  for (let i = start; i < end; i++) {
    const e = entries[i]!;
    if (e.member === self.member) continue;
    count++;
    if (e.currency === self.currency) {
      sameCurrencyCount++;
      sameCurrencySum = addClamped(sameCurrencySum, e.amount);
      if (e.amount > sameCurrencyMax) sameCurrencyMax = e.amount;
    }
    last = e;
  }
  return {
    count,
    sameCurrencyCount,
    sameCurrencySum,
    sameCurrencyMax,
    last: last === null ? null : lastOf(last),
  };
}

function lastOf(e: StoredEntry): { eventTime: number; country?: string } {
  return e.country === ""
    ? { eventTime: e.eventTime }
    : { eventTime: e.eventTime, country: decodeURIComponent(e.country) };
}

export const ZERO_WINDOW: WindowResult = Object.freeze({ count: 0, sum: 0, distinctCards: 0 });

/**
 * The transaction always counts in its own windows (when its band admits it), whether or not
 * it was stored: a transaction already older than 24 h is not stored, yet a rule still sees it.
 */
export function windowOf(
  entries: readonly StoredEntry[],
  self: StoredEntry,
  query: WindowQuery,
): WindowResult {
  const band = bandOf(query);
  const admits = (e: StoredEntry) =>
    band === null || (e.currency === self.currency && e.amount >= band.min && e.amount < band.max);
  let count = 0;
  let sum = 0;
  const cards = new Set<string>();
  const take = (e: StoredEntry) => {
    count++;
    if (e.currency === self.currency) sum = addClamped(sum, e.amount);
    if (e.cardToken !== "") cards.add(e.cardToken);
  };
  const [start, end] = rangeOf(entries, self.eventTime - windowMsOf(query), self.eventTime);
  for (let i = start; i < end; i++) {
    const e = entries[i]!;
    if (e.member !== self.member && admits(e)) take(e);
  }
  if (admits(self)) take(self);
  return { count, sum, distinctCards: cards.size };
}
