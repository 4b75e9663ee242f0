-- Records one transaction in the 24-hour history of each of its entities and answers the
-- aggregates its rules need (PRC-2). record-history.ts loads this file and puts the constants
-- it shares with TypeScript in front of this line, on the same line, so that the line numbers
-- of a script error are this file's:
--   DAY      24 h in milliseconds (keys.ts DAY_MS)
--   TTL      seconds a written key lives after its last write (keys.ts HISTORY_TTL_SECONDS)
--   MAX_SUM  where sums are clamped: 2^53 - 1, the largest integer a double holds exactly
--
-- One call per transaction, so atomic: it trims, adds and reads every entity key of the
-- transaction, and the aggregates are those of the data right after the add. A redelivered
-- transaction therefore sees what it saw the first time, unless an entry with an event time at
-- or before its own (in its windows) was recorded in between: out-of-order event times, or the
-- same millisecond, from another batch.
--
-- A transaction id counts once per entity: the record key remembers the member first stored
-- for the id, and a later delivery of the id with other content (amount, card, country) is
-- treated as that one, so it adds nothing and never counts itself twice.
--
-- The protocol; record-history.ts encodes the call and decodes the reply in the same order:
-- KEYS   per entity the transaction has (customer, card, device, ip, in that order) its time
--        set, amount set and aggregate hash (keys.ts), then the transaction's record key.
-- ARGV   1 now, 2 eventTime, 3 member, 4 amount, 5 currency, 6 card, 7 number of queries,
--        8 aggregateFrom; then five per query: the position of its entity among those of KEYS
--        (0 = the transaction lacks it), windowMs, banded (0/1), min, max ("" = open bound).
--        Currency, card and country are compared in their encoded form.
-- reply  { priors, windows }: per entity of KEYS { count, sameCurrencyCount, sameCurrencySum,
--        sameCurrencyMax, hasLast (0/1), lastEventTime, lastCountry }; per query { count, sum,
--        distinctCards }.
--
-- Cost: this script is what bounds the whole pipeline's throughput (Redis runs it on one core),
-- so an entity's cost must not grow with its activity. A busy entity (AGGREGATE_FROM entries or
-- more) keeps running aggregates beside its time set: the amount set (one currency's entries by
-- amount, for the maximum and amount bands) and the hash (sums, entries per card, distinct
-- cards). An entry enters them only when ZADD NX really adds it (so a redelivery changes
-- nothing) and leaves them when the trim removes it; only the trimmed members are read. The
-- priors and the day windows are the aggregates minus the entries of the set outside
-- [t - 24 h, t] and the transaction's own entry: with event times near now these are none or
-- few. A small set, or one whose entries lie mostly outside the day (event times far from now),
-- is cheaper to scan, and is scanned. Windows shorter than a day read their own range. The
-- aggregates are dropped only below a quarter of AGGREGATE_FROM, so that a set near the
-- threshold does not build and drop them call after call.
--
-- Numbers: every input is an integer below 2^53, exact as a Lua double; bounds go back to
-- Redis through "%.0f" (tostring would print 14 significant digits); replies are Lua numbers,
-- which Redis turns into integer replies, exact below 2^53; sums are clamped to MAX_SUM. The
-- hash sums an amount's digits above the low 8 and the low 8 apart, so that both stay exact
-- integers (in Redis and in Lua) however large the day's total; combine() clamps the total.

local LOW = 100000000
local HIGH_LIMIT = math.floor(MAX_SUM / LOW)
local WIDTH = 16
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local member = ARGV[3]
local amount = tonumber(ARGV[4])
local currency = ARGV[5]
local card = ARGV[6]
local nq = tonumber(ARGV[7])
local AGGREGATE_FROM = tonumber(ARGV[8])
local DROP_BELOW = math.floor(AGGREGATE_FROM / 4)
local cutoff = now - DAY
local match, sub, rep = string.match, string.sub, string.rep
local FIELDS = '^[^|]*|([^|]*)|([^|]*)|([^|]*)|'

local function num(x) return string.format('%.0f', x) end
local function add(s, a)
  s = s + a
  if s > MAX_SUM then return MAX_SUM end
  return s
end
-- An amount's text as (digits above the low 8, low 8 digits): each part's sums stay exact.
local function split(amt)
  local n = #amt
  if n <= 8 then return 0, tonumber(amt) end
  return tonumber(sub(amt, 1, n - 8)), tonumber(sub(amt, n - 7))
end
-- min(high * 10^8 + low, MAX_SUM), without a double ever passing 2^53.
local function combine(high, low)
  if high > HIGH_LIMIT then return MAX_SUM end
  local base = high * LOW
  if low > MAX_SUM - base then return MAX_SUM end
  return base + low
end
local function hnum(h, f) return tonumber(redis.call('HGET', h, f)) or 0 end
-- Zero fields are deleted, so the hash depends only on the entries, not on their history.
local function bump(h, f, d)
  if d == 0 then return 0 end
  local v = redis.call('HINCRBY', h, f, d)
  if v == 0 then redis.call('HDEL', h, f) end
  return v
end
-- Adds (sign 1) or removes (sign -1) one member of the time set to or from its aggregates.
local function apply(l, h, m, sign)
  local amt, cur, crd = match(m, FIELDS)
  local lex = cur .. '|' .. rep('0', WIDTH - #amt) .. amt .. '|' .. m
  if sign > 0 then redis.call('ZADD', l, 0, lex) else redis.call('ZREM', l, lex) end
  local high, low = split(amt)
  bump(h, 'n', sign)
  bump(h, 'h:' .. cur, sign * high)
  bump(h, 'l:' .. cur, sign * low)
  if crd ~= '' then
    local c = bump(h, 'c:' .. crd, sign)
    if (sign > 0 and c == 1) or (sign < 0 and c == 0) then bump(h, 'd', sign) end
  end
end

local nk = (#KEYS - 1) / 3
local perKey = {}
for i = 1, nk do perKey[i] = {} end
local queries = {}
for q = 1, nq do
  local b = 8 + (q - 1) * 5
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
local curFrom, curTo = '[' .. currency .. '|', '(' .. currency .. '}'
local skip = #currency + WIDTH + 3

-- A member's amount, currency and card, split once per call: the same members come back in
-- every window of a key and in the keys of the transaction's other entities.
local amountOf, currencyOf, cardOf = {}, {}, {}
local function fields(m)
  local amt = amountOf[m]
  if amt then return amt, currencyOf[m], cardOf[m] end
  local a, cur, crd = match(m, FIELDS)
  amt = tonumber(a)
  amountOf[m], currencyOf[m], cardOf[m] = amt, cur, crd
  return amt, cur, crd
end

-- Count, same-currency sum and distinct cards of a window: its members, then this transaction.
local function window(query, members)
  local c, s, d, cards = 0, 0, 0, {}
  local banded, lo, hi = query.banded, query.min, query.max
  for j = 1, #members do
    local m = members[j]
    if m ~= member then
      local amt, cur, crd = fields(m)
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

-- The newest other entry of the day: the member itself may be among the two newest.
local function prior(key, count, scCount, scSum, scMax)
  local newest = redis.call('ZREVRANGEBYSCORE', key, tText, dayFrom, 'WITHSCORES', 'LIMIT', 0, 2)
  for j = 1, #newest, 2 do
    if newest[j] ~= member then
      return { count, scCount, scSum, scMax, 1, tonumber(newest[j + 1]),
        match(newest[j], '^[^|]*|[^|]*|[^|]*|[^|]*|(.*)$') }
    end
  end
  return { count, scCount, scSum, scMax, 0, 0, '' }
end

-- Text of an amount's position in the amount set, or nil past every possible amount.
local function amountText(x)
  if x > MAX_SUM then return nil end
  local s = num(x)
  return rep('0', WIDTH - #s) .. s
end

-- The members of the amount band [min, max) in the currency, outside ex.
local function bandMembers(l, query, ex)
  local from, to = curFrom, curTo
  if query.min > 0 then
    local a = amountText(math.ceil(query.min))
    if not a then return {} end
    from = curFrom .. a
  end
  if query.max <= 0 then return {} end
  local b = amountText(math.ceil(query.max))
  if b then to = '(' .. currency .. '|' .. b end
  local lex = redis.call('ZRANGEBYLEX', l, from, to)
  local out = {}
  for j = 1, #lex do
    local m = sub(lex[j], skip)
    if not ex[m] then out[#out + 1] = m end
  end
  return out
end

-- The day by scanning its members: for small sets, and sets mostly outside the day.
local function scanKey(i, key)
  local day = redis.call('ZRANGEBYSCORE', key, dayFrom, tText)
  local count, scCount, scSum, scMax = 0, 0, 0, 0
  for j = 1, #day do
    local m = day[j]
    if m ~= member then
      count = count + 1
      local amt, cur = fields(m)
      if cur == currency then
        scCount = scCount + 1
        scSum = add(scSum, amt)
        if amt > scMax then scMax = amt end
      end
    end
  end
  local windows = {}
  for _, q in ipairs(perKey[i]) do
    local query = queries[q]
    local members = day
    if query.w ~= DAY then members = redis.call('ZRANGEBYSCORE', key, num(t - query.w), tText) end
    windows[q] = window(query, members)
  end
  return prior(key, count, scCount, scSum, scMax), windows
end

-- The day from the aggregates, minus ex (the set's entries outside the day, and this one's).
local function aggregateDay(i, key, l, h, total, ex, exList, got)
  local high, low = tonumber(got[2]) or 0, tonumber(got[3]) or 0
  local inSet = redis.call('ZLEXCOUNT', l, curFrom, curTo)
  local scCount = inSet
  local exCards = {}
  for j = 1, #exList do
    local amt, cur, crd = match(exList[j], FIELDS)
    if cur == currency then
      local eh, el = split(amt)
      high, low = high - eh, low - el
      scCount = scCount - 1
    end
    if crd ~= '' then exCards[crd] = (exCards[crd] or 0) + 1 end
  end
  local count = total - #exList
  local scMax = 0
  if scCount > 0 then
    -- At most the excluded entries of the currency rank above the day's maximum.
    local top = redis.call('ZREVRANGEBYLEX', l, curTo, curFrom, 'LIMIT', 0, inSet - scCount + 1)
    for j = 1, #top do
      local lex = top[j]
      if not ex[sub(lex, skip)] then
        scMax = tonumber(sub(lex, #currency + 2, #currency + 1 + WIDTH))
        break
      end
    end
  end
  local windows = {}
  for _, q in ipairs(perKey[i]) do
    local query = queries[q]
    if query.w ~= DAY then
      windows[q] = window(query, redis.call('ZRANGEBYSCORE', key, num(t - query.w), tText))
    elseif query.banded then
      windows[q] = window(query, bandMembers(l, query, ex))
    else
      -- Distinct cards: those of the set, less those whose every entry is excluded, plus this
      -- transaction's card when no entry of the day has it.
      local d, own = tonumber(got[4]) or 0, tonumber(got[5]) or 0
      for crd, n in pairs(exCards) do
        if (crd == card and own or hnum(h, 'c:' .. crd)) == n then d = d - 1 end
      end
      if card ~= '' and own - (exCards[card] or 0) <= 0 then d = d + 1 end
      local ah, al = split(ARGV[4])
      windows[q] = { count + 1, combine(high + ah, low + al), d }
    end
  end
  return prior(key, count, scCount, combine(high, low), scMax), windows
end

local function exclude(ex, exList, list)
  for j = 1, #list do
    local m = list[j]
    if not ex[m] then ex[m] = true; exList[#exList + 1] = m end
  end
end

-- (Re)builds a key's aggregates from its set.
local function rebuild(key, l, h)
  redis.call('DEL', l, h)
  local all = redis.call('ZRANGE', key, 0, -1)
  for j = 1, #all do apply(l, h, all[j], 1) end
end

local priors, windows = {}, {}
for q = 1, nq do windows[q] = { 0, 0, 0 } end
for i = 1, nk do
  local key, l, h = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  -- Aggregates are kept only for keys with AGGREGATE_FROM entries or more: a small set is
  -- cheaper to scan than to keep aggregates for, in Redis time and in memory.
  local kept = redis.call('EXISTS', h) == 1
  -- Only aggregates need the trimmed members themselves (few: those expired since the last write).
  if kept then
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. num(cutoff))
    if #old > 0 then
      for j = 1, #old do apply(l, h, old[j], -1) end
      redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(cutoff))
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(cutoff))
  end
  local added = stored and redis.call('ZADD', key, 'NX', tText, member) == 1
  if added and kept then apply(l, h, member, 1) end
  local total = redis.call('ZCARD', key)
  local got
  if kept and total < DROP_BELOW then
    redis.call('DEL', l, h)
    kept = false
  elseif kept then
    got = redis.call('HMGET', h, 'n', 'h:' .. currency, 'l:' .. currency, 'd', 'c:' .. card)
    -- Aggregates out of step with the set (a key evicted on its own, say) are rebuilt from it,
    -- so they are never trusted when they might be wrong.
    if tonumber(got[1]) ~= total or redis.call('ZCARD', l) ~= total then
      rebuild(key, l, h)
      got = nil
    end
  elseif total >= AGGREGATE_FROM then
    rebuild(key, l, h)
    kept = true
  end
  if kept and not got then
    got = redis.call('HMGET', h, 'n', 'h:' .. currency, 'l:' .. currency, 'd', 'c:' .. card)
  end
  redis.call('EXPIRE', key, TTL)
  if kept then
    redis.call('EXPIRE', l, TTL)
    redis.call('EXPIRE', h, TTL)
  end

  local windows_i
  if not kept then
    priors[i], windows_i = scanKey(i, key)
  else
    -- Entries outside [t - 24 h, t]: below it only when t is ahead of now (the trim removed
    -- the rest), above it when later event times were recorded first.
    local below = 0
    if t - DAY > cutoff then below = redis.call('ZCOUNT', key, '-inf', '(' .. dayFrom) end
    local above = redis.call('ZCOUNT', key, '(' .. tText, '+inf')
    if (below + above) * 2 > total then
      priors[i], windows_i = scanKey(i, key)
    else
      local ex, exList = {}, {}
      if below > 0 then exclude(ex, exList, redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. dayFrom)) end
      if above > 0 then exclude(ex, exList, redis.call('ZRANGEBYSCORE', key, '(' .. tText, '+inf')) end
      if not ex[member] and (added or redis.call('ZSCORE', key, member)) then
        exclude(ex, exList, { member })
      end
      priors[i], windows_i = aggregateDay(i, key, l, h, total, ex, exList, got)
    end
  end
  for q, w in pairs(windows_i) do windows[q] = w end
end
if stored then redis.call('SET', recordKey, member, 'EX', TTL) end
return { priors, windows }
