import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  aggregateKey,
  amountKey,
  bandOf,
  DAY_MS,
  encodeMember,
  entityKey,
  HISTORY_TTL_SECONDS,
  MAX_SUM,
  memberFields,
  presentKinds,
  recordKey,
  windowMsOf,
} from "./keys.ts";
import type { EntityKind, HistoryItem, HistoryResult, PriorSummary } from "./types.ts";

/*
 * The history script (record-history.lua) as TypeScript sees it: its source, the call of it for
 * one transaction (KEYS and ARGV) and the reading of its reply. The script reads its arguments
 * and writes its reply by position; here those positions are declared once, by name (HEAD,
 * PER_QUERY, PRIOR, WINDOW), in the order the script's header gives, and both directions are
 * derived from them.
 */

/** The name the script is defined under on a client (ioredis sends EVALSHA, or EVAL once). */
export const RECORD_COMMAND = "txwHistoryRecord";

/**
 * Entries from which a key keeps running aggregates (and below a quarter of which it drops
 * them again). Measured on this script: below about this size scanning the day costs Redis less
 * than keeping the aggregates, and the aggregates' two extra keys cost memory for every one of
 * the many small sets (a card, a device, most customers).
 */
export const AGGREGATE_FROM = 32;

/**
 * Beside this module in the sources, and beside the entry file in a bundle, where
 * scripts/bundle.mjs copies it (import.meta.url is the entry's there).
 */
const SCRIPT_URL = new URL("./record-history.lua", import.meta.url);

/**
 * The script as Redis runs it: `lua` (the file's text) with the constants it shares with
 * TypeScript put in front of its first line, on that line, so a script error's line number is
 * the file's.
 */
export function recordScript(lua: string = readScriptFile()): string {
  return `local DAY, TTL, MAX_SUM = ${DAY_MS}, '${HISTORY_TTL_SECONDS}', ${MAX_SUM} ${lua}`;
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

/** ARGV's first fields, in the order the script reads them (ARGV[1] .. ARGV[8]). */
const HEAD = [
  "now",
  "eventTime",
  "member",
  "amount",
  "currency",
  "card",
  "queryCount",
  "aggregateFrom",
] as const;
/** Then these, for each query. */
const PER_QUERY = ["entity", "windowMs", "banded", "min", "max"] as const;
/** One entity's prior in the reply, in the order the script returns it. */
const PRIOR = [
  "count",
  "sameCurrencyCount",
  "sameCurrencySum",
  "sameCurrencyMax",
  "hasLast",
  "lastEventTime",
  "lastCountry",
] as const;
/** One query's window in the reply. */
const WINDOW = ["count", "sum", "distinctCards"] as const;

type Named<T extends readonly string[], V> = Record<T[number], V>;

/** The values in the order of `order`. */
function positional<T extends readonly string[]>(order: T, values: Named<T, string>): string[] {
  return order.map((name: T[number]) => values[name]);
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`history script reply: ${what} is not an array`);
  return value;
}

/** A list of the reply read by the names of `order`. */
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

function bound(value: number): string {
  return Number.isFinite(value) ? String(value) : "";
}

/** One call of the script, for one transaction, and how to read what it answers. */
export interface RecordCall {
  keys: string[];
  args: string[];
  decode(reply: unknown): HistoryResult;
}

export function recordCall(
  prefix: string,
  item: HistoryItem,
  now: number,
  aggregateFrom = AGGREGATE_FROM,
): RecordCall {
  const kinds = presentKinds(item);
  const keys = kinds.flatMap((kind) => {
    const id = item.entities[kind]!;
    return [
      entityKey(prefix, item.merchantId, kind, id),
      amountKey(prefix, item.merchantId, kind, id),
      aggregateKey(prefix, item.merchantId, kind, id),
    ];
  });
  keys.push(recordKey(prefix, item.merchantId, item.transactionId));
  const member = encodeMember(item);
  // The member's encoded fields, so the script compares like with like.
  const { currency, cardToken } = memberFields(member);
  const args = positional(HEAD, {
    now: String(now),
    eventTime: String(item.eventTime),
    member,
    amount: String(item.amount),
    currency,
    card: cardToken,
    queryCount: String(item.queries.length),
    aggregateFrom: String(aggregateFrom),
  });
  for (const q of item.queries) {
    const band = bandOf(q);
    args.push(
      ...positional(PER_QUERY, {
        entity: String(kinds.indexOf(q.entity) + 1),
        windowMs: String(windowMsOf(q)),
        banded: band === null ? "0" : "1",
        min: band === null ? "" : bound(band.min),
        max: band === null ? "" : bound(band.max),
      }),
    );
  }
  return { keys, args, decode: (reply) => decodeReply(reply, kinds) };
}

function decodeReply(reply: unknown, kinds: readonly EntityKind[]): HistoryResult {
  const [priors, windows] = list(reply, "reply");
  const priorList = list(priors, "priors");
  const prior: Partial<Record<EntityKind, PriorSummary>> = {};
  kinds.forEach((kind, i) => {
    prior[kind] = decodePrior(named(PRIOR, priorList[i], `prior ${kind}`));
  });
  return {
    prior,
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
    sameCurrencyMax: int(p.sameCurrencyMax, "sameCurrencyMax"),
    last:
      int(p.hasLast, "hasLast") === 0
        ? null
        : {
            eventTime: int(p.lastEventTime, "last.eventTime"),
            ...(country !== "" && { country: decodeURIComponent(country) }),
          },
  };
}
