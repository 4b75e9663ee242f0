-- Records one transaction in the 24-hour history of ONE of its entities and answers that
-- entity's part of the aggregates its rules need (PRC-2, SCL-1, SCL-2). record-entity.ts loads
-- this file and puts the constants it shares with TypeScript in front of this line, on the same
-- line, so that the line numbers of a script error are this file's:
--   DAY      24 h in milliseconds (keys.ts DAY_MS)
--   TTL      seconds a written key lives after its last write (keys.ts HISTORY_TTL_SECONDS)
--   MAX_SUM  where sums are clamped: 2^53 - 1, the largest integer a double holds exactly
--   MINUTE, HOUR  the widths of the sum buckets in milliseconds (keys.ts)
--   EXCLUDE_MAX   see record-entity.ts
--
-- Every key of a call is one entity's and carries its hash tag, so a call lives in one hash slot
-- (Redis Cluster) and the calls of a transaction's entities are independent: atomic per entity,
-- idempotent per entity (a transaction id counts once in each entity, whatever content a later
-- delivery of it carries: the first is kept and answered from).
--
-- The protocol; record-entity.ts encodes the call and decodes the reply in the same order:
-- KEYS   1 times (sorted set: member "<transaction id>|<content>", content = "amount|currency|
--        card|country", encoded; score event time); for a busy entity only: 2 contents (hash:
--        transaction id -> content, to find an id without reading the set), 3 aggregates (hash:
--        running totals, the sum buckets once asked for, the bands kept), 4 cards (sorted set:
--        member card, score the card's latest event time); then one band set per banded query
--        (sorted set of the band's transaction ids by event time).
-- ARGV   1 now, 2 eventTime, 3 transaction id, 4 content, 5 aggregateFrom, 6 answer (0 = only
--        record, the rebuild's path), 7 number of queries; then five per query: windowMs, the
--        position of its band set in KEYS (0 = no band), min, max ("" = open bound), measures
--        (1 = sum, 2 = distinct cards, 3 = both; a measure not asked for answers 0).
-- reply  { prior, windows }: prior { count, sameCurrencyCount, sameCurrencySum, hasLast (0/1),
--        lastEventTime, lastCountry }; per query { count, sum, distinctCards }.
--
-- Cost (SCL-1): bounded whatever the entity's volume. A small entity (fewer than aggregateFrom
-- entries) is read whole and answered from what was read: exact, in a few commands. A busy one
-- keeps running aggregates, updated when an entry is added and when the trim removes it (each
-- entry once), and answers from them with O(log n) sorted-set counts and a bounded number of
-- reads. Its band sets are built the first time a band is asked for (one pass over the set:
-- the only step that reads a busy entity whole, once per band; a ruleset has few).
--   count of any window, prior count, last entry, banded counts: exact;
--   same-currency count and sum over the day: exact while at most EXCLUDE_MAX entries of the set
--     lie outside [t - 24 h, t] (later event times recorded first: out of order, or a
--     redelivery); past that, from the buckets as below;
--   same-currency sum of a window shorter than the day: whole-minute buckets (hour buckets for
--     the middle of long windows, so at most about 180 fields), so it may include entries up to
--     one minute older than the window's start (and, past EXCLUDE_MAX entries outside the day,
--     later entries of t's own minute), never fewer;
--   distinct cards: the cards whose latest entry is at or after the window's start: exact when
--     event times arrive in order, else it may also count a card used only after t.
-- Banded windows (structuring) answer the count only; their sum and distinctCards are 0.

local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local id = ARGV[3]
local AGGREGATE_FROM = tonumber(ARGV[5])
local answer = ARGV[6] == '1'
local nq = tonumber(ARGV[7])
local DROP_BELOW = math.floor(AGGREGATE_FROM / 4)
local times, contents, agg, cardsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cutoff = now - DAY
local floor, match = math.floor, string.match
local FIELDS = '^([^|]*)|([^|]*)|([^|]*)|(.*)$'
-- A member of the times set: the id, then the content.
local MEMBER = '^([^|]*)|(.*)$'

local function num(x) return string.format('%.0f', x) end
local function add(s, a)
  s = s + a
  if s > MAX_SUM then return MAX_SUM end
  return s
end
local function clamp(x)
  if x > MAX_SUM then return MAX_SUM end
  return x
end

-- An amount's text as (digits above the low 8, low 8 digits): the running sums keep the two
-- apart, so both stay exact integers (in Redis and in Lua) however large the day's total.
local LOW = 100000000
local HIGH_LIMIT = floor(MAX_SUM / LOW)
local function split(text)
  local n = #text
  if n <= 8 then return 0, tonumber(text) end
  return tonumber(string.sub(text, 1, n - 8)), tonumber(string.sub(text, n - 7))
end
-- min(high * 10^8 + low, MAX_SUM), without a double ever passing 2^53.
local function combine(high, low)
  if high > HIGH_LIMIT then return MAX_SUM end
  local base = high * LOW
  if low > MAX_SUM - base then return MAX_SUM end
  return math.max(0, base + low)
end

-- A band counts one currency's entries in [min, max): the transaction's currency for its queries.
local function inBand(band, cur, a)
  return cur == band.cur and a >= band.min and a < band.max
end

-- A field that reaches 0 is deleted: old minutes leave no fields behind, and the hash depends
-- only on the entries, not on their history.
local function bump(f, d)
  if d == 0 then return end
  if redis.call('HINCRBY', agg, f, d) == 0 then redis.call('HDEL', agg, f) end
end

-- Busy entity's aggregates: the running totals (n:<cur>, s:<cur>) over the whole set, minute
-- and hour buckets of count and sum per currency, the card set, the bands kept.
local function bumpBuckets(a, cur, time, sign)
  local m, h = floor(time / MINUTE), floor(time / HOUR)
  bump('n' .. m .. ':' .. cur, sign)
  bump('a' .. m .. ':' .. cur, sign * a)
  bump('N' .. h .. ':' .. cur, sign)
  bump('A' .. h .. ':' .. cur, sign * a)
end

local function apply(entryContent, time, sign)
  local aText, cur, crd = match(entryContent, FIELDS)
  bump('n', sign)
  bump('n:' .. cur, sign)
  local high, low = split(aText)
  bump('S:' .. cur, sign * high)
  bump('s:' .. cur, sign * low)
  bumpBuckets(tonumber(aText), cur, time, sign)
  if sign > 0 and crd ~= '' then redis.call('ZADD', cardsKey, 'GT', time, crd) end
end

-- Band sets the aggregates keep, one "<key>|<currency>|<min>|<max>" per line, so that a trim
-- and an add find them. Read once per call; buildBand and drop change it and forget it.
local bandsRead = nil
local function keptBands()
  if bandsRead then return bandsRead end
  local text = redis.call('HGET', agg, 'bands')
  local out = {}
  if text then
    for line in string.gmatch(text, '[^\n]+') do
      local key, cur, mn, mx = match(line, '^(.*)|([^|]*)|([^|]*)|([^|]*)$')
      out[#out + 1] = { key = key, cur = cur, min = tonumber(mn) or -math.huge, max = tonumber(mx) or math.huge }
    end
  end
  bandsRead = out
  return out
end

-- Fills a band set from the entity's entries: a band first asked for on a busy entity.
local function buildBand(q)
  redis.call('DEL', q.key)
  local all = redis.call('ZRANGE', times, 0, -1, 'WITHSCORES')
  for j = 1, #all, 2 do
    local eid, c = match(all[j], MEMBER)
    local a, cur = match(c, FIELDS)
    if inBand(q, cur, tonumber(a)) then redis.call('ZADD', q.key, all[j + 1], eid) end
  end
  local line = table.concat({ q.key, q.cur, q.minText, q.maxText }, '|')
  local text = redis.call('HGET', agg, 'bands')
  redis.call('HSET', agg, 'bands', text and (text .. '\n' .. line) or line)
  bandsRead = nil
end

-- Builds a busy entity's contents hash and aggregates from its set (an entity crossing
-- AGGREGATE_FROM, or aggregates found missing).
local function build()
  redis.call('DEL', contents, cardsKey)
  local all = redis.call('ZRANGE', times, 0, -1, 'WITHSCORES')
  local fields = {}
  for j = 1, #all, 2 do
    local eid, c = match(all[j], MEMBER)
    fields[#fields + 1] = eid
    fields[#fields + 1] = c
    if #fields >= 1000 then redis.call('HSET', contents, unpack(fields)); fields = {} end
    apply(c, tonumber(all[j + 1]), 1)
  end
  if #fields > 0 then redis.call('HSET', contents, unpack(fields)) end
  redis.call('HSET', agg, 'built', '1')
end

local function drop()
  for _, b in ipairs(keptBands()) do redis.call('DEL', b.key) end
  redis.call('DEL', agg, cardsKey, contents)
  bandsRead = nil
end

-- The entity's state. A small entity's whole set is read here (it is answered from it); a busy
-- one is asked for the transaction's first content in its contents hash.
local n0 = redis.call('ZCARD', times)
local busy = n0 >= DROP_BELOW and redis.call('EXISTS', agg) == 1
local small = nil
local first, selfTime = nil, nil
if not busy and n0 < AGGREGATE_FROM then
  small = {}
  local all = redis.call('ZRANGE', times, 0, -1, 'WITHSCORES')
  for j = 1, #all, 2 do
    local eid, c = match(all[j], MEMBER)
    local time = tonumber(all[j + 1])
    small[#small + 1] = { id = eid, content = c, time = time }
    if eid == id then first, selfTime = c, time end
  end
end

if not busy and not small then
  -- A set this large keeps aggregates; without them (evicted on their own), they are rebuilt.
  build()
  busy = true
end
if busy then
  -- Aggregates out of step with the set (one of its keys evicted on its own, say) are built
  -- again from it, so they are never trusted when they might be wrong.
  if tonumber(redis.call('HGET', agg, 'n')) ~= n0 then
    drop()
    build()
  end
  first = redis.call('HGET', contents, id)
  if first then selfTime = tonumber(redis.call('ZSCORE', times, id .. '|' .. first)) end
end

-- The first content recorded for the id wins (idempotency per entity).
local content = first or ARGV[4]
local amt, currency, card, country = match(content, FIELDS)
local amount = tonumber(amt)
local member = id .. '|' .. content
-- A band set is named, and filled, by the currency of the transaction as delivered now.
local _, requestCurrency = match(ARGV[4], FIELDS)

local queries = {}
for q = 1, nq do
  local b = 7 + (q - 1) * 5
  local k = tonumber(ARGV[b + 2])
  local measures = tonumber(ARGV[b + 5])
  queries[q] = { w = tonumber(ARGV[b + 1]), band = k > 0, key = k > 0 and KEYS[k] or nil,
    cur = requestCurrency, minText = ARGV[b + 3], maxText = ARGV[b + 4],
    min = tonumber(ARGV[b + 3]) or -math.huge, max = tonumber(ARGV[b + 4]) or math.huge,
    sum = measures % 2 == 1, cards = measures >= 2 }
end


-- Trim: entries older than the day before now leave the set, and the aggregates.
local trimmed = 0
if small then
  local kept = {}
  for _, e in ipairs(small) do
    if e.time >= cutoff then kept[#kept + 1] = e else trimmed = trimmed + 1 end
  end
  if trimmed > 0 then
    redis.call('ZREMRANGEBYSCORE', times, '-inf', '(' .. num(cutoff))
    small = kept
  end
else
  local old = redis.call('ZRANGEBYSCORE', times, '-inf', '(' .. num(cutoff), 'WITHSCORES')
  if #old > 0 then
    -- A day's worth may age out at once (a burst a day ago): the ids go in chunks, as unpack
    -- takes at most a few thousand values.
    local ids = {}
    for j = 1, #old, 2 do
      local eid, c = match(old[j], MEMBER)
      ids[#ids + 1] = eid
      if #ids == 1000 then redis.call('HDEL', contents, unpack(ids)); ids = {} end
      apply(c, tonumber(old[j + 1]), -1)
      trimmed = trimmed + 1
    end
    if #ids > 0 then redis.call('HDEL', contents, unpack(ids)) end
    redis.call('ZREMRANGEBYSCORE', cardsKey, '-inf', '(' .. num(cutoff))
    for _, b in ipairs(keptBands()) do redis.call('ZREMRANGEBYSCORE', b.key, '-inf', '(' .. num(cutoff)) end
    redis.call('ZREMRANGEBYSCORE', times, '-inf', '(' .. num(cutoff))
  end
end

local added = false
if not first and t >= cutoff then
  -- 0 when the member is there already (the contents hash lost on its own): nothing to add.
  added = redis.call('ZADD', times, t, member) == 1
  if added and busy then
    redis.call('HSET', contents, id, content)
    apply(content, t, 1)
    for _, b in ipairs(keptBands()) do
      if inBand(b, currency, amount) then redis.call('ZADD', b.key, t, id) end
    end
  end
end
local total = n0 - trimmed + (added and 1 or 0)
if busy and total < DROP_BELOW then
  drop()
  busy = false
  small = {}
  local all = redis.call('ZRANGE', times, 0, -1, 'WITHSCORES')
  for j = 1, #all, 2 do
    local eid, c = match(all[j], MEMBER)
    if eid ~= id then small[#small + 1] = { id = eid, content = c, time = tonumber(all[j + 1]) } end
  end
elseif small and total >= AGGREGATE_FROM then
  build()
  busy = true
  small = nil
end
if busy then
  for q = 1, nq do
    local query = queries[q]
    if query.band then
      local listed = false
      for _, b in ipairs(keptBands()) do if b.key == query.key then listed = true end end
      if not listed then buildBand(query) end
    end
  end
end

redis.call('EXPIRE', times, TTL)
if busy then
  redis.call('EXPIRE', contents, TTL)
  redis.call('EXPIRE', agg, TTL)
  redis.call('EXPIRE', cardsKey, TTL)
  for _, b in ipairs(keptBands()) do redis.call('EXPIRE', b.key, TTL) end
end
if not answer then return 0 end

if added then selfTime = t end
-- The transaction's own entry, trimmed above (a redelivery a day later), is no longer counted.
if selfTime and selfTime < cutoff then selfTime = nil end
local function selfWithin(from, to)
  return selfTime ~= nil and selfTime >= from and selfTime <= to
end
-- Whether the buckets of the minutes [a, b] hold the transaction's own entry.
local function selfInMinutes(a, b)
  if selfTime == nil then return false end
  local m = floor(selfTime / MINUTE)
  return m >= a and m <= b
end
local tText = num(t)
local dayFrom = t - DAY

-- The newest other entry of [t - 24 h, t]: the transaction itself may be among the two newest.
local function lastEntry()
  local newest = redis.call('ZREVRANGEBYSCORE', times, tText, num(dayFrom), 'WITHSCORES', 'LIMIT', 0, 2)
  for j = 1, #newest, 2 do
    if newest[j] ~= member then
      local _, c = match(newest[j], MEMBER)
      local _, _, _, ctry = match(c, FIELDS)
      return 1, tonumber(newest[j + 1]), ctry
    end
  end
  return 0, 0, ''
end

-- Small entity: every answer from its set, read whole above.
local function scan()
  local entries = {}
  for _, e in ipairs(small) do
    if e.id ~= id and e.time >= dayFrom and e.time <= t then
      local a, cur, crd, ctry = match(e.content, FIELDS)
      entries[#entries + 1] = { time = e.time, amount = tonumber(a), cur = cur, card = crd, country = ctry }
    end
  end
  local scCount, scSum = 0, 0
  for _, e in ipairs(entries) do
    if e.cur == currency then scCount = scCount + 1; scSum = add(scSum, e.amount) end
  end
  -- The day is in set order (score, then member), so its newest other entry is the last one.
  local newest = entries[#entries]
  local hasLast, lastTime, lastCountry = 0, 0, ''
  if newest then hasLast, lastTime, lastCountry = 1, newest.time, newest.country end
  local windows = {}
  for q = 1, nq do
    local query = queries[q]
    local from = t - query.w
    local c, s, d, cards = 0, 0, 0, {}
    for _, e in ipairs(entries) do
      if e.time >= from then
        if query.band then
          if inBand(query, e.cur, e.amount) then c = c + 1 end
        else
          c = c + 1
          if e.cur == currency then s = add(s, e.amount) end
          if e.card ~= '' and not cards[e.card] then cards[e.card] = true; d = d + 1 end
        end
      end
    end
    if query.band then
      if inBand(query, currency, amount) then c = c + 1 end
      windows[q] = { c, 0, 0 }
    else
      if card ~= '' and not cards[card] then d = d + 1 end
      windows[q] = { c + 1, query.sum and add(s, amount) or 0, query.cards and d or 0 }
    end
  end
  return { #entries, scCount, scSum, hasLast, lastTime, lastCountry }, windows
end

-- Count and sum of the currency's buckets over the minutes [a, b]: minutes at the edges, hours
-- in between, so at most about 180 fields whatever the window.
local function buckets(a, b, withCount)
  local fields = {}
  local function minutes(x, y)
    for m = x, y do
      fields[#fields + 1] = 'a' .. m .. ':' .. currency
      if withCount then fields[#fields + 1] = 'n' .. m .. ':' .. currency end
    end
  end
  if b - a < 120 then
    minutes(a, b)
  else
    local ha, hb = floor(a * MINUTE / HOUR) + 1, floor(b * MINUTE / HOUR) - 1
    local perHour = HOUR / MINUTE
    minutes(a, ha * perHour - 1)
    for h = ha, hb do
      fields[#fields + 1] = 'A' .. h .. ':' .. currency
      if withCount then fields[#fields + 1] = 'N' .. h .. ':' .. currency end
    end
    minutes((hb + 1) * perHour, b)
  end
  local values = redis.call('HMGET', agg, unpack(fields))
  local s, c = 0, 0
  local step = withCount and 2 or 1
  for j = 1, #values, step do
    s = add(s, clamp(tonumber(values[j]) or 0))
    if withCount then c = c + (tonumber(values[j + 1]) or 0) end
  end
  return c, s
end

-- Busy entity: answers from the aggregates. The running totals cover the whole set; entries of
-- it outside [t - 24 h, t] (event times out of order, or a redelivery after later ones) are
-- read and taken out when there are at most EXCLUDE_MAX of them, else the day comes from the
-- buckets.
local function aggregates()
  local above = redis.call('ZCOUNT', times, '(' .. tText, '+inf')
  local below = redis.call('ZCOUNT', times, '-inf', '(' .. num(dayFrom))
  local exact = above + below <= EXCLUDE_MAX
  local excluded = {}
  if exact and above + below > 0 then
    local function take(list)
      for j = 1, #list, 2 do
        local eid, c = match(list[j], MEMBER)
        local a, cur = match(c, FIELDS)
        excluded[#excluded + 1] = { id = eid, time = tonumber(list[j + 1]), text = a, amount = tonumber(a), cur = cur }
      end
    end
    take(redis.call('ZRANGEBYSCORE', times, '(' .. tText, '+inf', 'WITHSCORES'))
    take(redis.call('ZRANGEBYSCORE', times, '-inf', '(' .. num(dayFrom), 'WITHSCORES'))
  end
  local selfInDay = selfWithin(dayFrom, t)
  local dayA, dayB = floor(dayFrom / MINUTE), floor(t / MINUTE)
  local scCount, scSum
  if exact then
    local got = redis.call('HMGET', agg, 'n:' .. currency, 'S:' .. currency, 's:' .. currency)
    local high, low = tonumber(got[2]) or 0, tonumber(got[3]) or 0
    scCount = tonumber(got[1]) or 0
    for _, e in ipairs(excluded) do
      if e.cur == currency then
        local eh, el = split(e.text)
        high, low, scCount = high - eh, low - el, scCount - 1
      end
    end
    if selfInDay then
      local sh, sl = split(amt)
      high, low, scCount = high - sh, low - sl, scCount - 1
    end
    scSum = combine(high, low)
  else
    scCount, scSum = buckets(dayA, dayB, true)
    if selfInMinutes(dayA, dayB) then scCount, scSum = scCount - 1, math.max(0, scSum - amount) end
  end
  local hasLast, lastTime, lastCountry = lastEntry()
  local count = redis.call('ZCOUNT', times, num(dayFrom), tText) - (selfInDay and 1 or 0)
  local windows = {}
  for q = 1, nq do
    local query = queries[q]
    local from = t - query.w
    if query.band then
      local c = redis.call('ZCOUNT', query.key, num(from), tText)
      if selfWithin(from, t) and inBand(query, currency, amount) then c = c - 1 end
      if inBand(query, currency, amount) then c = c + 1 end
      windows[q] = { c, 0, 0 }
    else
      local c = redis.call('ZCOUNT', times, num(from), tText)
      if selfWithin(from, t) then c = c - 1 end
      local s = 0
      if not query.sum then
        s = 0
      elseif query.w >= DAY then
        s = scSum
      else
        local a, b = floor(from / MINUTE), floor(t / MINUTE)
        local _
        _, s = buckets(a, b, false)
        for _, e in ipairs(excluded) do
          local m = floor(e.time / MINUTE)
          if e.id ~= id and e.cur == currency and m >= a and m <= b then s = s - e.amount end
        end
        if selfInMinutes(a, b) then s = s - amount end
        s = math.max(0, s)
      end
      local d = 0
      if query.cards then
        d = redis.call('ZCOUNT', cardsKey, num(from), '+inf')
        if card ~= '' then
          local seen = redis.call('ZSCORE', cardsKey, card)
          if not seen or tonumber(seen) < from then d = d + 1 end
        end
      end
      windows[q] = { c + 1, query.sum and add(s, amount) or 0, d }
    end
  end
  return { count, scCount, scSum, hasLast, lastTime, lastCountry }, windows
end

local prior, windows
if busy then prior, windows = aggregates() else prior, windows = scan() end
return { prior, windows }
