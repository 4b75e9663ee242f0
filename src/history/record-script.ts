import {
  bandOf,
  DAY_MS,
  encodeMember,
  entityKey,
  HISTORY_TTL_SECONDS,
  MAX_SUM,
  presentKinds,
  recordKey,
  windowMsOf,
} from "./keys.ts";
import type {
  EntityKind,
  HistoryItem,
  HistoryResult,
  PriorSummary,
  WindowResult,
} from "./types.ts";

/**
 * One call per transaction: trims, adds and reads every entity key of the transaction
 * atomically, so the aggregates are those of the data right after the add. A redelivered
 * transaction therefore sees what it saw the first time, unless an entry with an event time at
 * or before its own (in its windows) was recorded in between: out-of-order event times, or the
 * same millisecond, from another batch.
 *
 * A transaction id counts once per entity: the record key remembers the member first stored
 * for the id, and a later delivery of the id with other content (amount, card, country) is
 * treated as that one, so it adds nothing and never counts itself twice.
 *
 * KEYS: the transaction's entity keys (ENTITY_KINDS order), then its record key.
 * ARGV: now, eventTime, member, amount, currency, card, nQueries, then per query
 *       keyIndex (0 = the transaction lacks that entity), windowMs, banded (0/1), min, max
 *       ("" = open bound). Currency, card and country are compared in their encoded form.
 *
 * Cost: the script is what bounds the whole pipeline's throughput (Redis runs it on one core),
 * and it grows with the entries an entity holds, so each key is read as little as the answer
 * needs: the day's members without scores for the day's aggregates (all of them are in the
 * day, no score is needed), the two newest with scores for `last`, and a range of its own for
 * each window shorter than a day. No per-entry table is built; each member is matched once per
 * pass for the fields that pass uses.
 *
 * Numbers: every input is an integer below 2^53, exact as a Lua double; bounds go back to
 * Redis through "%.0f" (tostring would print 14 significant digits); replies are Lua numbers,
 * which Redis turns into integer replies, exact below 2^53; sums are clamped to 2^53 - 1.
 */
export const RECORD_SCRIPT = `
local DAY = ${DAY_MS}
local TTL = '${HISTORY_TTL_SECONDS}'
local MAX_SUM = ${MAX_SUM}
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local member = ARGV[3]
local amount = tonumber(ARGV[4])
local currency = ARGV[5]
local card = ARGV[6]
local nq = tonumber(ARGV[7])
local cutoff = now - DAY
local match = string.match

local function num(x) return string.format('%.0f', x) end
local function add(s, a)
  s = s + a
  if s > MAX_SUM then return MAX_SUM end
  return s
end

local nk = #KEYS - 1
local perKey = {}
for i = 1, nk do perKey[i] = {} end
local queries = {}
for q = 1, nq do
  local b = 7 + (q - 1) * 5
  local k, w = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  queries[q] = { w = w, banded = ARGV[b + 3] == '1',
    min = tonumber(ARGV[b + 4]) or -math.huge, max = tonumber(ARGV[b + 5]) or math.huge }
  if k > 0 then local l = perKey[k]; l[#l + 1] = q end
end

local recordKey = KEYS[#KEYS]
local first = redis.call('GET', recordKey)
if first then member = first end
local stored = t >= cutoff and not first
local tText = ARGV[2]
local dayFrom = num(t - DAY)

-- Count, same-currency sum and distinct cards of a window: its members, then this transaction.
local function window(query, members)
  local c, s, d, cards = 0, 0, 0, {}
  local banded, lo, hi = query.banded, query.min, query.max
  for j = 1, #members do
    local m = members[j]
    if m ~= member then
      local amt, cur, crd = match(m, '^[^|]*|([^|]*)|([^|]*)|([^|]*)|')
      amt = tonumber(amt)
      if (not banded) or (cur == currency and amt >= lo and amt < hi) then
        c = c + 1
        if cur == currency then s = add(s, amt) end
        if crd ~= '' and not cards[crd] then cards[crd] = true; d = d + 1 end
      end
    end
  end
  if (not banded) or (amount >= lo and amount < hi) then
    c = c + 1
    s = add(s, amount)
    if card ~= '' and not cards[card] then d = d + 1 end
  end
  return { c, s, d }
end

local priors, windows = {}, {}
for q = 1, nq do windows[q] = { 0, 0, 0 } end
for i = 1, nk do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(cutoff))
  if stored then redis.call('ZADD', key, 'NX', tText, member) end
  redis.call('EXPIRE', key, TTL)

  -- The day before this transaction, members only: no score is needed to aggregate it.
  local day = redis.call('ZRANGEBYSCORE', key, dayFrom, tText)
  local count, scCount, scSum, scMax = 0, 0, 0, 0
  for j = 1, #day do
    local m = day[j]
    if m ~= member then
      count = count + 1
      local amt, cur = match(m, '^[^|]*|([^|]*)|([^|]*)|')
      if cur == currency then
        amt = tonumber(amt)
        scCount = scCount + 1
        scSum = add(scSum, amt)
        if amt > scMax then scMax = amt end
      end
    end
  end
  -- The newest other entry: the member itself may be among the two newest.
  local newest = redis.call('ZREVRANGEBYSCORE', key, tText, dayFrom, 'WITHSCORES', 'LIMIT', 0, 2)
  local last
  for j = 1, #newest, 2 do
    if newest[j] ~= member then last = j; break end
  end
  if last then
    priors[i] = { count, scCount, scSum, scMax, 1, tonumber(newest[last + 1]),
      match(newest[last], '^[^|]*|[^|]*|[^|]*|[^|]*|(.*)$') }
  else
    priors[i] = { count, scCount, scSum, scMax, 0, 0, '' }
  end

  for _, q in ipairs(perKey[i]) do
    local query = queries[q]
    local members = day
    if query.w ~= DAY then members = redis.call('ZRANGEBYSCORE', key, num(t - query.w), tText) end
    windows[q] = window(query, members)
  end
end
if stored then redis.call('SET', recordKey, member, 'EX', TTL) end
return { priors, windows }
`;

export interface ScriptCall {
  keys: string[];
  args: string[];
  kinds: EntityKind[];
}

function bound(value: number): string {
  return Number.isFinite(value) ? String(value) : "";
}

export function scriptCallOf(prefix: string, item: HistoryItem, now: number): ScriptCall {
  const kinds = presentKinds(item);
  const keys = kinds.map((kind) => entityKey(prefix, item.merchantId, kind, item.entities[kind]!));
  keys.push(recordKey(prefix, item.merchantId, item.transactionId));
  const member = encodeMember(item);
  // The member's encoded fields, so the script compares like with like.
  const [, , currency, card] = member.split("|") as [string, string, string, string, string];
  const args = [String(now), String(item.eventTime), member, String(item.amount), currency, card];
  args.push(String(item.queries.length));
  for (const q of item.queries) {
    const band = bandOf(q);
    args.push(
      String(kinds.indexOf(q.entity) + 1),
      String(windowMsOf(q)),
      band === null ? "0" : "1",
      band === null ? "" : bound(band.min),
      band === null ? "" : bound(band.max),
    );
  }
  return { keys, args, kinds };
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`history script reply: ${what} is not an array`);
  return value;
}

function int(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new Error(`history script reply: ${what} is not an integer`);
  }
  return value;
}

export function parseScriptReply(reply: unknown, call: ScriptCall): HistoryResult {
  const [priorsRaw, windowsRaw] = list(reply, "reply");
  const priors = list(priorsRaw, "priors");
  const prior: Partial<Record<EntityKind, PriorSummary>> = {};
  call.kinds.forEach((kind, i) => {
    const p = list(priors[i], `prior ${kind}`);
    const country = p[6];
    if (typeof country !== "string")
      throw new Error("history script reply: country is not a string");
    prior[kind] = {
      count: int(p[0], "count"),
      sameCurrencyCount: int(p[1], "sameCurrencyCount"),
      sameCurrencySum: int(p[2], "sameCurrencySum"),
      sameCurrencyMax: int(p[3], "sameCurrencyMax"),
      last:
        int(p[4], "hasLast") === 0
          ? null
          : {
              eventTime: int(p[5], "last.eventTime"),
              ...(country !== "" && { country: decodeURIComponent(country) }),
            },
    };
  });
  const windows: WindowResult[] = list(windowsRaw, "windows").map((w, q) => {
    const [count, sum, distinctCards] = list(w, `window ${q}`);
    return {
      count: int(count, "count"),
      sum: int(sum, "sum"),
      distinctCards: int(distinctCards, "distinctCards"),
    };
  });
  return { prior, windows };
}
