import {
  addClamped,
  boundText,
  contentFields,
  DAY_MS,
  HOUR_MS,
  MAX_SUM,
  MINUTE_MS,
  memberOf,
  splitMember,
} from "./keys.ts";
import {
  type EntityAnswer,
  type EntityQuery,
  type EntityRequest,
  EXCLUDE_MAX,
} from "./record-entity.ts";
import { Timeline } from "./timeline.ts";
import type { PriorSummary, WindowResult } from "./types.ts";

/**
 * One entity's 24-hour history in process memory: record-entity.lua, line for line, over
 * in-process structures (the same sets, hash and buckets), so that the memory store answers
 * exactly what Redis answers; the shared contract suite holds both to that. The bounds and what
 * is exact are the script's (its header, and the README's history section).
 */

interface BandSet {
  key: string;
  currency: string;
  min: number;
  max: number;
  set: Timeline;
}

/** A busy entity's aggregates: the script's `a` hash, card set and band sets. */
interface Aggregates {
  fields: Map<string, number>;
  cards: Timeline;
  cardScores: Map<string, number>;
  bands: BandSet[];
}

export class EntityHistory {
  readonly times = new Timeline();
  /** Transaction id -> its first content and event time (the script's contents hash and ZSCORE). */
  readonly contents = new Map<string, { content: string; time: number }>();
  aggregates: Aggregates | undefined;
  /** When the keys expire (the script's EXPIRE), in the time of `now`. */
  expiresAt = 0;

  get empty(): boolean {
    return this.times.size === 0;
  }
}

function bandKeyOf(currency: string, band: { min: number; max: number }): string {
  return `${currency}:${boundText(band.min)}:${boundText(band.max)}`;
}

function inBand(band: { currency: string; min: number; max: number }, cur: string, a: number) {
  return cur === band.currency && a >= band.min && a < band.max;
}

function bump(fields: Map<string, number>, field: string, d: number): void {
  if (d === 0) return;
  const v = (fields.get(field) ?? 0) + d;
  if (v === 0) fields.delete(field);
  else fields.set(field, v);
}

function apply(agg: Aggregates, content: string, time: number, sign: 1 | -1): void {
  const { amount, currency, cardToken } = contentFields(content);
  const m = Math.floor(time / MINUTE_MS);
  const h = Math.floor(time / HOUR_MS);
  const f = agg.fields;
  bump(f, "n", sign);
  bump(f, `n:${currency}`, sign);
  const [high, low] = split(amount);
  bump(f, `S:${currency}`, sign * high);
  bump(f, `s:${currency}`, sign * low);
  bump(f, `n${m}:${currency}`, sign);
  bump(f, `a${m}:${currency}`, sign * amount);
  bump(f, `N${h}:${currency}`, sign);
  bump(f, `A${h}:${currency}`, sign * amount);
  if (sign > 0 && cardToken !== "") {
    // ZADD GT: a new card, or a later time for one already there.
    const seen = agg.cardScores.get(cardToken);
    if (seen === undefined || time > seen) {
      if (seen !== undefined) agg.cards.remove(seen, cardToken);
      agg.cards.add(time, cardToken);
      agg.cardScores.set(cardToken, time);
    }
  }
}

function build(entity: EntityHistory): Aggregates {
  const agg: Aggregates = {
    fields: new Map(),
    cards: new Timeline(),
    cardScores: new Map(),
    bands: [],
  };
  for (const e of entity.times.all()) apply(agg, splitMember(e.member)[1], e.score, 1);
  return agg;
}

function buildBand(entity: EntityHistory, agg: Aggregates, key: string, q: BandSet): void {
  for (const e of entity.times.all()) {
    const [eid, content] = splitMember(e.member);
    const { amount, currency } = contentFields(content);
    if (inBand(q, currency, amount)) q.set.add(e.score, eid);
  }
  agg.bands.push({ ...q, key });
}

const clamp = (x: number) => Math.min(x, MAX_SUM);

/** An amount as (digits above the low 8, low 8 digits), as the script's running sums keep it. */
const LOW = 100_000_000;
function split(amount: number): [number, number] {
  return [Math.floor(amount / LOW), amount % LOW];
}

/** min(high * 10^8 + low, MAX_SUM), exact: the script's combine. */
function combine(high: number, low: number): number {
  if (high > Math.floor(MAX_SUM / LOW)) return MAX_SUM;
  const base = high * LOW;
  if (low > MAX_SUM - base) return MAX_SUM;
  return Math.max(0, base + low);
}

/**
 * Records the request's transaction in the entity and answers its part (undefined when `answer`
 * is false: the rebuild's path). `t` is the transaction's event time.
 */
export function recordEntity(
  entity: EntityHistory,
  request: EntityRequest,
  t: number,
  now: number,
  aggregateFrom: number,
  answer: boolean,
): EntityAnswer | undefined {
  const dropBelow = Math.floor(aggregateFrom / 4);
  const cutoff = now - DAY_MS;
  const id = request.transactionId;
  const first = entity.contents.get(id);
  const content = first?.content ?? request.content;
  const member = memberOf(id, content);
  const { amount, currency, cardToken: card } = contentFields(content);
  const queries = request.queries.map((q: EntityQuery) => ({
    w: q.windowMs,
    sum: q.sum,
    cards: q.cards,
    band:
      q.band === null
        ? null
        : {
            key: bandKeyOf(request.currency, q.band),
            // A band set is named, and filled, by the currency of the transaction as delivered.
            currency: request.currency,
            min: q.band.min,
            max: q.band.max,
          },
  }));

  let busy = entity.aggregates !== undefined;
  const old = entity.times.removeBelow(cutoff);
  if (old.length > 0) {
    const agg = entity.aggregates;
    if (agg !== undefined) {
      for (const e of old) {
        apply(agg, splitMember(e.member)[1], e.score, -1);
      }
      for (const gone of agg.cards.removeBelow(cutoff)) agg.cardScores.delete(gone.member);
      for (const b of agg.bands) b.set.removeBelow(cutoff);
    }
    for (const e of old) entity.contents.delete(splitMember(e.member)[0]);
  }

  let added = false;
  if (first === undefined && t >= cutoff) {
    entity.times.add(t, member);
    entity.contents.set(id, { content, time: t });
    added = true;
  }
  const total = entity.times.size;
  if (busy && total < dropBelow) {
    entity.aggregates = undefined;
    busy = false;
  } else if (busy) {
    const agg = entity.aggregates!;
    if (added) {
      apply(agg, content, t, 1);
      for (const b of agg.bands) if (inBand(b, currency, amount)) b.set.add(t, id);
    }
    if ((agg.fields.get("n") ?? 0) !== total) entity.aggregates = build(entity);
  } else if (total >= aggregateFrom) {
    entity.aggregates = build(entity);
    busy = true;
  }
  const agg = entity.aggregates;
  if (agg !== undefined) {
    for (const q of queries) {
      if (q.band !== null && !agg.bands.some((b) => b.key === q.band!.key)) {
        buildBand(entity, agg, q.band.key, { ...q.band, set: new Timeline() });
      }
    }
  }
  entity.expiresAt = now + DAY_MS;
  if (!answer) return undefined;

  let selfTime: number | undefined;
  if (added) selfTime = t;
  else if (first !== undefined) selfTime = first.time;
  // The transaction's own entry, trimmed above (a redelivery a day later), no longer counts.
  if (selfTime !== undefined && selfTime < cutoff) selfTime = undefined;
  const selfWithin = (from: number, to: number) =>
    selfTime !== undefined && selfTime >= from && selfTime <= to;
  const selfInMinutes = (a: number, b: number) => {
    if (selfTime === undefined) return false;
    const m = Math.floor(selfTime / MINUTE_MS);
    return m >= a && m <= b;
  };
  const dayFrom = t - DAY_MS;

  const lastEntry = (): PriorSummary["last"] => {
    for (const e of entity.times.newest(t, dayFrom, 2)) {
      if (e.member === member) continue;
      const { country } = contentFields(splitMember(e.member)[1]);
      return country === ""
        ? { eventTime: e.score }
        : { eventTime: e.score, country: decodeURIComponent(country) };
    }
    return null;
  };

  if (agg === undefined) {
    // Small entity: every answer from a scan of its day.
    const entries = entity.times
      .range(dayFrom, t)
      .filter((e) => e.member !== member)
      .map((e) => ({ time: e.score, ...contentFields(splitMember(e.member)[1]) }));
    let scCount = 0;
    let scSum = 0;
    for (const e of entries) {
      if (e.currency === currency) {
        scCount++;
        scSum = addClamped(scSum, e.amount);
      }
    }
    const windows: WindowResult[] = queries.map((q) => {
      const from = t - q.w;
      let c = 0;
      let s = 0;
      const cards = new Set<string>();
      for (const e of entries) {
        if (e.time < from) continue;
        if (q.band !== null) {
          if (inBand(q.band, e.currency, e.amount)) c++;
        } else {
          c++;
          if (e.currency === currency) s = addClamped(s, e.amount);
          if (e.cardToken !== "") cards.add(e.cardToken);
        }
      }
      if (q.band !== null) {
        return { count: c + (inBand(q.band, currency, amount) ? 1 : 0), sum: 0, distinctCards: 0 };
      }
      if (card !== "") cards.add(card);
      return {
        count: c + 1,
        sum: q.sum ? addClamped(s, amount) : 0,
        distinctCards: q.cards ? cards.size : 0,
      };
    });
    return {
      prior: {
        count: entries.length,
        sameCurrencyCount: scCount,
        sameCurrencySum: scSum,
        last: lastEntry(),
      },
      windows,
    };
  }

  // Busy entity: answers from the aggregates.
  const buckets = (a: number, b: number, withCount: boolean): [number, number] => {
    const fields: [string, string][] = [];
    const minutes = (x: number, y: number) => {
      for (let m = x; m <= y; m++) fields.push([`a${m}:${currency}`, `n${m}:${currency}`]);
    };
    if (b - a < 120) minutes(a, b);
    else {
      const perHour = HOUR_MS / MINUTE_MS;
      const ha = Math.floor((a * MINUTE_MS) / HOUR_MS) + 1;
      const hb = Math.floor((b * MINUTE_MS) / HOUR_MS) - 1;
      minutes(a, ha * perHour - 1);
      for (let h = ha; h <= hb; h++) fields.push([`A${h}:${currency}`, `N${h}:${currency}`]);
      minutes((hb + 1) * perHour, b);
    }
    let s = 0;
    let c = 0;
    for (const [sumField, countField] of fields) {
      s = addClamped(s, clamp(agg.fields.get(sumField) ?? 0));
      if (withCount) c += agg.fields.get(countField) ?? 0;
    }
    return [c, s];
  };

  const above = entity.times.count(t + 1, Infinity);
  const below = entity.times.count(-Infinity, dayFrom - 1);
  const exact = above + below <= EXCLUDE_MAX;
  const excluded: { id: string; time: number; amount: number; currency: string }[] = [];
  if (exact && above + below > 0) {
    for (const e of [
      ...entity.times.range(t + 1, Infinity),
      ...entity.times.range(-Infinity, dayFrom - 1),
    ]) {
      const [eid, content] = splitMember(e.member);
      const { amount: a, currency: cur } = contentFields(content);
      excluded.push({ id: eid, time: e.score, amount: a, currency: cur });
    }
  }
  const selfInDay = selfWithin(dayFrom, t);
  const dayA = Math.floor(dayFrom / MINUTE_MS);
  const dayB = Math.floor(t / MINUTE_MS);
  let scCount: number;
  let scSum: number;
  if (exact) {
    let high = agg.fields.get(`S:${currency}`) ?? 0;
    let low = agg.fields.get(`s:${currency}`) ?? 0;
    scCount = agg.fields.get(`n:${currency}`) ?? 0;
    for (const e of excluded) {
      if (e.currency !== currency) continue;
      const [eh, el] = split(e.amount);
      high -= eh;
      low -= el;
      scCount--;
    }
    if (selfInDay) {
      const [sh, sl] = split(amount);
      high -= sh;
      low -= sl;
      scCount--;
    }
    scSum = combine(high, low);
  } else {
    [scCount, scSum] = buckets(dayA, dayB, true);
    if (selfInMinutes(dayA, dayB)) {
      scCount -= 1;
      scSum = Math.max(0, scSum - amount);
    }
  }
  const last = lastEntry();
  const count = entity.times.count(dayFrom, t) - (selfInDay ? 1 : 0);
  const windows: WindowResult[] = queries.map((q) => {
    const from = t - q.w;
    if (q.band !== null) {
      const set = agg.bands.find((b) => b.key === q.band!.key)!.set;
      let c = set.count(from, t);
      if (selfWithin(from, t) && inBand(q.band, currency, amount)) c--;
      if (inBand(q.band, currency, amount)) c++;
      return { count: c, sum: 0, distinctCards: 0 };
    }
    let c = entity.times.count(from, t);
    if (selfWithin(from, t)) c--;
    let s: number;
    if (!q.sum) s = 0;
    else if (q.w >= DAY_MS) s = scSum;
    else {
      const a = Math.floor(from / MINUTE_MS);
      const b = Math.floor(t / MINUTE_MS);
      [, s] = buckets(a, b, false);
      for (const e of excluded) {
        const m = Math.floor(e.time / MINUTE_MS);
        if (e.id !== id && e.currency === currency && m >= a && m <= b) s -= e.amount;
      }
      if (selfInMinutes(a, b)) s -= amount;
      s = Math.max(0, s);
    }
    let d = 0;
    if (q.cards) {
      d = agg.cards.count(from, Infinity);
      if (card !== "") {
        const seen = agg.cardScores.get(card);
        if (seen === undefined || seen < from) d++;
      }
    }
    return { count: c + 1, sum: q.sum ? addClamped(s, amount) : 0, distinctCards: d };
  });
  return {
    prior: { count, sameCurrencyCount: scCount, sameCurrencySum: scSum, last },
    windows,
  };
}
