import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encodeId } from "../transaction/key.ts";
import {
  bandKey,
  bandOf,
  boundText,
  contentFields,
  contentOf,
  DAY_MS,
  entityKeys,
  HISTORY_TTL_SECONDS,
  HOUR_MS,
  MAX_SUM,
  MINUTE_MS,
  presentKinds,
  windowMsOf,
} from "./keys.ts";
import type {
  EntityKind,
  HistoryItem,
  HistoryResult,
  PriorSummary,
  WindowResult,
} from "./types.ts";

/*
 * The history script (record-entity.lua) as TypeScript sees it: its source, the call of it for
 * one entity of one transaction (KEYS and ARGV) and the reading of its reply. The script reads
 * its arguments and writes its reply by position; here those positions are declared once, by
 * name (HEAD, PER_QUERY, PRIOR, WINDOW), in the order the script's header gives.
 */

/** The name the script is defined under on a client (ioredis sends EVALSHA, or EVAL once). */
export const RECORD_COMMAND = "txwHistoryEntity";

/**
 * Entries from which an entity keeps running aggregates (and below a quarter of which it drops
 * them again): below about this size scanning the day costs Redis less than keeping them, and
 * their extra keys would cost memory for every one of the many small entities.
 */
export const AGGREGATE_FROM = 32;

/**
 * A busy entity's day is exact while at most this many of its entries lie outside the
 * transaction's day (read and taken out of the running totals one by one); past it the buckets
 * answer. A redelivered batch of a few dozen transactions of one card stays exact.
 */
export const EXCLUDE_MAX = 64;

/**
 * Beside this module in the sources, and beside the entry file in a bundle, where
 * scripts/bundle.mjs copies it (import.meta.url is the entry's there).
 */
const SCRIPT_URL = new URL("./record-entity.lua", import.meta.url);

/**
 * The script as Redis runs it: `lua` (the file's text) with the constants it shares with
 * TypeScript put in front of its first line, on that line, so a script error's line number is
 * the file's.
 */
export function recordScript(lua: string = readScriptFile()): string {
  return `local DAY, TTL, MAX_SUM, MINUTE, HOUR, EXCLUDE_MAX = ${DAY_MS}, '${HISTORY_TTL_SECONDS}', ${MAX_SUM}, ${MINUTE_MS}, ${HOUR_MS}, ${EXCLUDE_MAX} ${lua}`;
}

function readScriptFile(): string {
  try {
    return readFileSync(SCRIPT_URL, "utf8");
  } catch (error) {
    throw new Error(
      `the history script ${fileURLToPath(SCRIPT_URL)} cannot be read: a bundle carries it beside its entry (scripts/bundle.mjs)`,
      { cause: error },
    );
  }
}

/** Read once, when the module loads: a bundle without the file fails at start, not mid-batch. */
export const RECORD_SCRIPT = recordScript();

/** ARGV's first fields, in the order the script reads them (ARGV[1] .. ARGV[7]). */
const HEAD = [
  "now",
  "eventTime",
  "transactionId",
  "content",
  "aggregateFrom",
  "answer",
  "queryCount",
] as const;
/** Then these, for each query of the entity. */
const PER_QUERY = ["windowMs", "bandKey", "min", "max", "measures"] as const;
/** The entity's prior in the reply, in the order the script returns it. */
const PRIOR = [
  "count",
  "sameCurrencyCount",
  "sameCurrencySum",
  "hasLast",
  "lastEventTime",
  "lastCountry",
] as const;
/** One query's window in the reply. */
const WINDOW = ["count", "sum", "distinctCards"] as const;

type Named<T extends readonly string[], V> = Record<T[number], V>;

function positional<T extends readonly string[]>(order: T, values: Named<T, string>): string[] {
  return order.map((name: T[number]) => values[name]);
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`history script reply: ${what} is not an array`);
  return value;
}

function named<T extends readonly string[]>(
  order: T,
  value: unknown,
  what: string,
): Named<T, unknown> {
  const values = list(value, what);
  if (values.length !== order.length) {
    throw new Error(
      `history script reply: ${what} has ${values.length} fields, not ${order.length}`,
    );
  }
  return Object.fromEntries(order.map((name, i) => [name, values[i]])) as Named<T, unknown>;
}

function int(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new Error(`history script reply: ${what} is not an integer`);
  }
  return value;
}

/** What one entity answers for one transaction: its prior and the windows of its queries. */
export interface EntityAnswer {
  prior: PriorSummary;
  /** In the order of `queryIndexes`. */
  windows: WindowResult[];
}

/** One query as an entity answers it: its window and, for a banded one, its band. */
export interface EntityQuery {
  windowMs: number;
  band: { min: number; max: number } | null;
  /** Whether the sum and the distinct cards are asked for (WindowQuery.measures). */
  sum: boolean;
  cards: boolean;
}

/**
 * What one entity of one transaction is asked, the same for both stores: the Redis store sends
 * it as one script call (entityCalls), the memory store runs it (entity-history.ts).
 */
export interface EntityRequest {
  kind: EntityKind;
  entityId: string;
  /** Encoded, as the entity's sets hold it. */
  transactionId: string;
  content: string;
  /** The transaction's encoded currency: a band counts its entries. */
  currency: string;
  queries: EntityQuery[];
  /** The positions in item.queries of `queries`, in order. */
  queryIndexes: number[];
}

/** One request per entity the transaction has, in ENTITY_KINDS order. */
export function entityRequests(item: HistoryItem, answer = true): EntityRequest[] {
  const content = contentOf(item);
  const { currency } = contentFields(content);
  const transactionId = encodeId(item.transactionId);
  return presentKinds(item).map((kind) => {
    const queries: EntityQuery[] = [];
    const queryIndexes: number[] = [];
    if (answer) {
      item.queries.forEach((q, index) => {
        if (q.entity !== kind) return;
        queryIndexes.push(index);
        const band = bandOf(q);
        // A band answers its count only.
        const asked = (m: "sum" | "distinctCards") =>
          band === null && (q.measures === undefined || q.measures.includes(m));
        queries.push({
          windowMs: windowMsOf(q),
          band,
          sum: asked("sum"),
          cards: asked("distinctCards"),
        });
      });
    }
    return {
      kind,
      entityId: item.entities[kind]!,
      transactionId,
      content,
      currency,
      queries,
      queryIndexes,
    };
  });
}

/** One call of the script: one entity of one transaction, and how to read what it answers. */
export interface EntityCall {
  kind: EntityKind;
  keys: string[];
  args: string[];
  /** The positions in item.queries of the queries this call answers, in reply order. */
  queryIndexes: number[];
  decode(reply: unknown): EntityAnswer;
}

/**
 * The script calls of one transaction: one per entity it has, each touching that entity's keys
 * only (one hash slot). `answer` false records without reading (a rebuild's restore).
 */
export function entityCalls(
  prefix: string,
  item: HistoryItem,
  now: number,
  { aggregateFrom = AGGREGATE_FROM, answer = true } = {},
): EntityCall[] {
  return entityRequests(item, answer).map((request) => {
    const { kind, entityId } = request;
    const k = entityKeys(prefix, item.merchantId, kind, entityId);
    const keys = [k.times, k.contents, k.aggregates, k.cards];
    const perQuery: string[] = [];
    for (const q of request.queries) {
      let bandPosition = "0";
      if (q.band !== null) {
        keys.push(bandKey(prefix, item.merchantId, kind, entityId, request.currency, q.band));
        bandPosition = String(keys.length);
      }
      perQuery.push(
        ...positional(PER_QUERY, {
          windowMs: String(q.windowMs),
          bandKey: bandPosition,
          min: q.band === null ? "" : boundText(q.band.min),
          max: q.band === null ? "" : boundText(q.band.max),
          measures: String((q.sum ? 1 : 0) + (q.cards ? 2 : 0)),
        }),
      );
    }
    const args = positional(HEAD, {
      now: String(now),
      eventTime: String(item.eventTime),
      transactionId: request.transactionId,
      content: request.content,
      aggregateFrom: String(aggregateFrom),
      answer: answer ? "1" : "0",
      queryCount: String(request.queries.length),
    });
    args.push(...perQuery);
    return {
      kind,
      keys,
      args,
      queryIndexes: request.queryIndexes,
      decode: (reply: unknown) => decodeReply(reply, kind),
    };
  });
}

/**
 * A transaction's result from its entities' answers: each entity's prior, and each window in the
 * order of the transaction's queries (zeros for a query on an entity it lacks).
 */
export function resultOf(
  item: HistoryItem,
  answers: readonly { kind: EntityKind; queryIndexes: readonly number[]; answer: EntityAnswer }[],
): HistoryResult {
  const prior: Partial<Record<EntityKind, PriorSummary>> = {};
  const windows: WindowResult[] = item.queries.map(() => ({ count: 0, sum: 0, distinctCards: 0 }));
  for (const { kind, queryIndexes, answer } of answers) {
    prior[kind] = answer.prior;
    queryIndexes.forEach((q, j) => {
      windows[q] = answer.windows[j]!;
    });
  }
  return { prior, windows };
}

function decodeReply(reply: unknown, kind: EntityKind): EntityAnswer {
  const [prior, windows] = list(reply, "reply");
  return {
    prior: decodePrior(named(PRIOR, prior, `prior ${kind}`)),
    windows: list(windows, "windows").map((w, q) => {
      const window = named(WINDOW, w, `window ${q}`);
      return {
        count: int(window.count, "count"),
        sum: int(window.sum, "sum"),
        distinctCards: int(window.distinctCards, "distinctCards"),
      };
    }),
  };
}

function decodePrior(p: Named<typeof PRIOR, unknown>): PriorSummary {
  const country = p.lastCountry;
  if (typeof country !== "string") throw new Error("history script reply: country is not a string");
  return {
    count: int(p.count, "count"),
    sameCurrencyCount: int(p.sameCurrencyCount, "sameCurrencyCount"),
    sameCurrencySum: int(p.sameCurrencySum, "sameCurrencySum"),
    last:
      int(p.hasLast, "hasLast") === 0
        ? null
        : {
            eventTime: int(p.lastEventTime, "last.eventTime"),
            ...(country !== "" && { country: decodeURIComponent(country) }),
          },
  };
}
