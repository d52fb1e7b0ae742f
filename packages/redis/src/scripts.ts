/**
 * The hot store's Lua scripts. Each runs atomically on the server, touches the keys of one shard (one hash
 * tag, so one Cluster slot; on a single Redis, `record` may touch several shards) and is sent as EVALSHA
 * through ioredis `defineCommand`. Keys not listed in KEYS are built from the shard's
 * base passed in ARGV, so they share the declared keys' tag.
 *
 * Numbers arrive as the strings JavaScript formatted and are stored unchanged, so they read back exactly;
 * a computed number is formatted with `%.17g`.
 */

const COMMON = `
local function num(n) return string.format('%.17g', n) end
`;

/**
 * The rule of one page view, shared by every caller of `RECORD_LUA` (one view or a batch): defines
 * `record_view(s, v, pending)`, which applies view `v` with the settings `s` and returns the visitor's rate count
 * and the live session as it was before the view (flat hash, or false). The real-time marks and the expiry
 * indexes' TTLs are collected in `pending` and written once per call by `flush_pending`. Every session key is built
 * from the view's shard base `v.base`: on Cluster every view of one call shares it (one slot, declared in KEYS for
 * routing); on a single Redis one call may mix shards. The real-time sets are under `s.rt` when given (a single
 * Redis: one set per scope for every visitor), else under the view's shard base (Cluster: a set per shard and scope,
 * in the view's slot). `v.prev` asks to continue the session of the previous visitor key: `lookup` reads it where
 * it lives (the same shard, or any shard on a single Redis), `adopt` installs one an earlier DETACH_LUA call took
 * out of its slot (Cluster).
 */
const RECORD_VIEW_LUA = `
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end

-- What the views of one call leave to do once at its end: the expiry indexes to refresh, and per real-time set
-- the visitors to mark (latest time each, as a number and as sent) and the latest view time that trims it.
local function new_pending()
  return { expiry = {}, marks = {} }
end

local function mark(pending, key, vk, at, text)
  local set = pending.marks[key]
  if not set then
    set = { latest = at, at = {}, text = {} }
    pending.marks[key] = set
  end
  local seen = set.at[vk]
  if not seen or at > seen then
    set.at[vk] = at
    set.text[vk] = text
  end
  if at > set.latest then set.latest = at end
end

-- One ZADD GT, one trim and one PEXPIRE per real-time set touched by the call, and one PEXPIRE per expiry index.
-- Trimming once at the call's latest view removes what a trim per view would, except entries older than the
-- window at that latest view: they are out of every window ending then or later.
local function flush_pending(s, pending)
  for key, set in pairs(pending.marks) do
    local args = {}
    for vk, text in pairs(set.text) do
      args[#args + 1] = text
      args[#args + 1] = vk
    end
    redis.call('ZADD', key, 'GT', unpack(args))
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(set.latest - tonumber(s.window)))
    redis.call('PEXPIRE', key, s.window)
  end
  for key in pairs(pending.expiry) do redis.call('PEXPIRE', key, s.ttl) end
end

local function record_view(s, v, pending)
  local at = tonumber(v.at)
  local ttl = s.ttl
  local expiry = v.base .. 'x'
  local lease = v.base .. 'l'
  local pointer = v.base .. 'v:' .. v.vk
  local rate = v.base .. 'r:' .. v.vk .. ':' .. v.m

  local count = redis.call('INCR', rate)
  -- The counter is of one minute: it lives two minutes from its first view.
  if count == 1 then redis.call('PEXPIRE', rate, 120000) end
  local viewIsBot = (v.bot == '1') or (count > tonumber(s.botMax))
  local botFlag = '0'
  if viewIsBot then botFlag = '1' end

  -- The visitor's live session: one a sweeper has claimed (in the lease index) is the sweeper's, not the visitor's.
  local sid = redis.call('GET', pointer)
  local cur = nil
  -- Whether the session sits in this shard's expiry index: a continued session keeps the score it has there (see
  -- PEEK_LUA), one moved here from another key is added back.
  local indexed = true
  if sid and redis.call('ZSCORE', lease, sid) then sid = nil end
  if sid then
    cur = redis.call('HGETALL', v.base .. 's:' .. sid)
    if #cur == 0 then
      cur = nil
      sid = nil
    end
  end

  local prev = v.prev
  if prev and prev.mode == 'adopt' then
    -- The previous key's session, detached from its own slot by an earlier call (Redis Cluster only).
    local aid = field(prev.fields, 'id')
    local akey = v.base .. 's:' .. aid
    redis.call('DEL', akey)
    redis.call('HSET', akey, unpack(prev.fields))
    redis.call('ZADD', expiry, field(prev.fields, 'lastSeenAt'), aid)
    redis.call('PEXPIRE', akey, ttl)
    if sid then
      -- The visitor already has a session: the adopted one stays on its own until the sweeper finalizes it.
      redis.call('HSET', akey, '_v', '')
    else
      redis.call('HSET', akey, '_v', v.vk)
      redis.call('SET', pointer, aid, 'PX', ttl)
      sid = aid
      cur = redis.call('HGETALL', akey)
    end
  elseif prev and prev.mode == 'lookup' and not sid then
    local ppointer = prev.base .. 'v:' .. prev.vk
    local psid = redis.call('GET', ppointer)
    if psid and not redis.call('ZSCORE', prev.base .. 'l', psid) then
      local pkey = prev.base .. 's:' .. psid
      local pcur = redis.call('HGETALL', pkey)
      if #pcur > 0 then
        -- Move the session to this visitor key (and its shard): a session continues across a salt rotation.
        local nkey = v.base .. 's:' .. psid
        redis.call('DEL', ppointer)
        redis.call('ZREM', prev.base .. 'x', psid)
        if pkey ~= nkey then redis.call('RENAME', pkey, nkey) end
        redis.call('HSET', nkey, '_v', v.vk)
        redis.call('SET', pointer, psid, 'PX', ttl)
        sid = psid
        indexed = false
        cur = redis.call('HGETALL', nkey)
      end
    end
  end

  local start = true
  if cur then
    local key = v.base .. 's:' .. sid
    local lastStr = field(cur, 'lastSeenAt')
    local last = tonumber(lastStr)
    local gap = at - last
    if gap < 0 then gap = 0 end
    if gap <= tonumber(s.timeout) then
      start = false
      local newLast = lastStr
      if at > last then newLast = v.at end
      -- A bot session's views are all bot views: this one too (and it marks no real-time set below).
      if field(cur, 'isBot') == '1' then
        viewIsBot = true
        botFlag = '1'
      end
      local pageViews = tonumber(field(cur, 'pageViews')) + 1
      if v.userId then
        redis.call('HSET', key, 'visitorKey', v.vk, 'lastSeenAt', newLast, 'pageViews', tostring(pageViews),
          'exitPath', v.path, 'lastViewId', v.id, 'lastViewDay', v.day, 'lastViewIsBot', botFlag, 'isBot', botFlag,
          'userId', v.userId)
      else
        redis.call('HSET', key, 'visitorKey', v.vk, 'lastSeenAt', newLast, 'pageViews', tostring(pageViews),
          'exitPath', v.path, 'lastViewId', v.id, 'lastViewDay', v.day, 'lastViewIsBot', botFlag, 'isBot', botFlag)
      end
      if field(cur, 'lastEngagedMs') then redis.call('HDEL', key, 'lastEngagedMs') end
      redis.call('PEXPIRE', key, ttl)
      redis.call('PEXPIRE', pointer, ttl)
      if not indexed then redis.call('ZADD', expiry, newLast, sid) end
    else
      -- Ended: it leaves the expiry index here, so no sweeper can also return it; the caller finalizes it.
      redis.call('DEL', key)
      redis.call('ZREM', expiry, sid)
    end
  end

  if start then
    local key = v.base .. 's:' .. v.sid
    -- The new session as sessionize starts it: the view's own fields, then its source and device fields.
    local fields = { 'id', v.sid, 'visitorKey', v.vk, 'startedAt', v.at, 'startDay', v.day, 'lastSeenAt', v.at,
      'pageViews', '1', 'landingPath', v.path, 'exitPath', v.path, 'lastViewId', v.id, 'lastViewDay', v.day,
      'lastViewIsBot', botFlag, 'isBot', botFlag, '_v', v.vk }
    if v.userId then
      fields[#fields + 1] = 'userId'
      fields[#fields + 1] = v.userId
    end
    for i = 1, #v.src do fields[#fields + 1] = v.src[i] end
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIRE', key, ttl)
    redis.call('SET', pointer, v.sid, 'PX', ttl)
    redis.call('ZADD', expiry, v.at, v.sid)
  end
  pending.expiry[expiry] = true

  if not viewIsBot then
    local rt = s.rt or v.base
    mark(pending, rt .. 'rt', v.vk, at, v.at)
    for i = 1, #v.scopes do mark(pending, rt .. 'rt:' .. v.scopes[i], v.vk, at, v.at) end
    -- A view with a user id also marks the visitor in the authenticated sets ('ra', 'ra:<scope>').
    if v.userId then
      mark(pending, rt .. 'ra', v.vk, at, v.at)
      for i = 1, #v.scopes do mark(pending, rt .. 'ra:' .. v.scopes[i], v.vk, at, v.at) end
    end
  end

  return count, cur or false
end
`;

/**
 * Page views applied one after the other in the order given, each exactly as `record_view` applies it.
 * KEYS: expiry index, lease index and overall real-time set of the first view's shard (they route the call to
 * its slot on Cluster; the script builds every key from each view's base). ARGV[1]: JSON
 * `{ botMax, timeout, ttl, window, rt?, views: [...] }` (see `hot-store.ts`). Returns one JSON string, the array
 * `[viewsThisMinute₁, live session before view₁ (flat hash) or false, viewsThisMinute₂, …]`: one bulk reply the
 * client parses at once, rather than a RESP array of every field of every session.
 */
export const RECORD_LUA = `${COMMON}${RECORD_VIEW_LUA}
local s = cjson.decode(ARGV[1])
local pending = new_pending()
local out = {}
for i = 1, #s.views do
  local count, cur = record_view(s, s.views[i], pending)
  out[#out + 1] = count
  out[#out + 1] = cur
end
flush_pending(s, pending)
return cjson.encode(out)
`;

/**
 * Detach the live sessions of visitor keys of one shard so another slot can adopt them (Redis Cluster, after
 * a salt rotation). KEYS: expiry index, lease index. ARGV: shard base, then visitor keys. Returns one flat
 * hash per visitor key, empty where it had no live session.
 */
export const DETACH_LUA = `
local out = {}
for i = 2, #ARGV do
  local pointer = ARGV[1] .. 'v:' .. ARGV[i]
  local flat = {}
  local sid = redis.call('GET', pointer)
  if sid and not redis.call('ZSCORE', KEYS[2], sid) then
    local key = ARGV[1] .. 's:' .. sid
    flat = redis.call('HGETALL', key)
    if #flat > 0 then
      redis.call('DEL', pointer, key)
      redis.call('ZREM', KEYS[1], sid)
    end
  end
  out[#out + 1] = flat
end
return out
`;

/**
 * Beacon engagement on the live (unclaimed) session, capped at the time elapsed since the view (a beacon
 * cannot claim more) and kept only if larger than before. KEYS: pointer, lease index. ARGV: shard base, view
 * id, engaged ms (empty for none), now. Returns `{ sessionId, lastViewDay, lastSeenAt, exitPath, lastViewIsBot }` or nil.
 */
export const ENGAGE_LUA = `${COMMON}
local sid = redis.call('GET', KEYS[1])
if not sid or redis.call('ZSCORE', KEYS[2], sid) then return nil end
local key = ARGV[1] .. 's:' .. sid
local f = redis.call('HMGET', key, 'lastViewId', 'lastEngagedMs', 'lastViewDay', 'lastSeenAt', 'exitPath', 'lastViewIsBot')
if not f[1] or f[1] ~= ARGV[2] then return nil end
if ARGV[3] ~= '' then
  local engaged = tonumber(ARGV[3])
  local text = ARGV[3]
  local elapsed = tonumber(ARGV[4]) - tonumber(f[4])
  if elapsed < 0 then elapsed = 0 end
  if engaged > elapsed then
    engaged = elapsed
    text = num(elapsed)
  end
  local current = 0
  if f[2] then current = tonumber(f[2]) end
  if engaged > current then
    redis.call('HSET', key, 'lastEngagedMs', text)
  elseif not f[2] then
    redis.call('HSET', key, 'lastEngagedMs', '0')
  end
end
return { sid, f[3], f[4], f[5], f[6] }
`;

/** Attach a user id to the live (unclaimed) session. KEYS: pointer, lease index. ARGV: shard base, user id. Returns the flat hash or nil. */
export const IDENTIFY_LUA = `
local sid = redis.call('GET', KEYS[1])
if not sid or redis.call('ZSCORE', KEYS[2], sid) then return nil end
local key = ARGV[1] .. 's:' .. sid
if redis.call('EXISTS', key) == 0 then return nil end
redis.call('HSET', key, 'userId', ARGV[2])
return redis.call('HGETALL', key)
`;

/**
 * Candidates for finalization in one shard, without claiming them: the `limit` oldest idle sessions of the expiry
 * index (more when several share the limit-th `lastSeenAt`), then sessions whose lease lapsed. KEYS: expiry index,
 * lease index. ARGV: shard base, now, timeout, limit. Returns flat `[sessionId, lastSeenAt, …]`.
 *
 * A continued session is not re-scored in the expiry index at each view (that would be one more write per page
 * view): its score is the `lastSeenAt` it had when indexed, never more than its `lastSeenAt` now. So the walk, in
 * score order, reads each entry's `lastSeenAt`, moves a stale entry to it (it may still be idle, or not any more),
 * and stops at the first score above the limit-th oldest found: no entry after it can be older.
 */
export const PEEK_LUA = `${COMMON}
local now = tonumber(ARGV[2])
local timeout = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local cutoff = now - timeout
local out = {}
local found = {}
local bound = nil
local fixes = {}
local offset = 0
while limit > 0 do
  local page = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. num(cutoff), 'WITHSCORES', 'LIMIT', offset, limit)
  local stop = #page < 2 * limit
  for i = 1, #page, 2 do
    local sid, text = page[i], page[i + 1]
    local score = tonumber(text)
    if bound and score > bound then
      stop = true
      break
    end
    -- A session hash already gone stays a candidate: claiming it cleans the indexes.
    local last = redis.call('HGET', ARGV[1] .. 's:' .. sid, 'lastSeenAt')
    if last and tonumber(last) ~= score then
      fixes[#fixes + 1] = last
      fixes[#fixes + 1] = sid
      text = last
      score = tonumber(last)
    end
    if score < cutoff then
      found[#found + 1] = { score, sid, text }
      if #found >= limit then
        table.sort(found, function(a, b) return a[1] < b[1] end)
        bound = found[limit][1]
        -- Every session tied with the limit-th stays: the caller orders ties by id.
        while found[#found][1] > bound do found[#found] = nil end
      end
    end
  end
  if stop then break end
  offset = offset + limit
end
for i = 1, #fixes, 1000 do
  redis.call('ZADD', KEYS[1], unpack(fixes, i, math.min(i + 999, #fixes)))
end
for i = 1, #found do
  out[#out + 1] = found[i][2]
  out[#out + 1] = found[i][3]
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', num(now), 'LIMIT', 0, ARGV[4])
for i = 1, #lapsed do
  local last = redis.call('HGET', ARGV[1] .. 's:' .. lapsed[i], 'lastSeenAt')
  if not last then
    redis.call('ZREM', KEYS[2], lapsed[i])
  elseif now - tonumber(last) > timeout then
    out[#out + 1] = lapsed[i]
    out[#out + 1] = last
  end
end
return out
`;

/**
 * Claim sessions of one shard: each is re-checked (idle past the timeout, lease absent or past) and leased
 * atomically, so a session goes to one caller per lease. KEYS: expiry index, lease index. ARGV: shard base,
 * now, timeout, lease end, session TTL, then session ids. Returns the claimed sessions as flat hashes.
 */
export const CLAIM_LUA = `
local now = tonumber(ARGV[2])
local timeout = tonumber(ARGV[3])
local out = {}
for i = 6, #ARGV do
  local sid = ARGV[i]
  local key = ARGV[1] .. 's:' .. sid
  local last = redis.call('HGET', key, 'lastSeenAt')
  if not last then
    redis.call('ZREM', KEYS[1], sid)
    redis.call('ZREM', KEYS[2], sid)
  else
    local lease = redis.call('ZSCORE', KEYS[2], sid)
    local free
    if lease then free = tonumber(lease) <= now else free = redis.call('ZSCORE', KEYS[1], sid) ~= false end
    if free and now - tonumber(last) > timeout then
      redis.call('ZREM', KEYS[1], sid)
      redis.call('ZADD', KEYS[2], ARGV[4], sid)
      redis.call('PEXPIRE', key, ARGV[5])
      out[#out + 1] = redis.call('HGETALL', key)
    end
  end
end
if #out > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
return out
`;

/**
 * Forget finalized sessions of one shard, and their visitor pointers if they still point to them.
 * KEYS: expiry index, lease index. ARGV: shard base, then session ids. Returns how many sessions existed.
 */
export const COMPLETE_LUA = `
local removed = 0
for i = 2, #ARGV do
  local sid = ARGV[i]
  local key = ARGV[1] .. 's:' .. sid
  local owner = redis.call('HGET', key, '_v')
  if owner and owner ~= '' then
    local pointer = ARGV[1] .. 'v:' .. owner
    if redis.call('GET', pointer) == sid then redis.call('DEL', pointer) end
  end
  removed = removed + redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], sid)
  redis.call('ZREM', KEYS[2], sid)
end
return removed
`;

/**
 * The salt of a period, created once, in one hash of every salt held (field: period). The hash has no TTL, so
 * `volatile-*` eviction can never take a salt; salts older than the previous period of the newest one are
 * deleted here instead, so a salt is gone once any instance asks for the salt of the period after next (the
 * engine asks every minute). A period older than that gets a salt that is neither kept nor shared (a clock
 * more than a day behind the others). KEYS: the salts hash. ARGV: period, new salt.
 * Returns `{ salt in force, previous period's salt or false }`.
 */
export const SALT_LUA = `
local period = tonumber(ARGV[1])
local newest = period
local held = redis.call('HKEYS', KEYS[1])
for i = 1, #held do
  local p = tonumber(held[i])
  if p and p > newest then newest = p end
end
if period < newest - 1 then return { ARGV[2], false } end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  current = ARGV[2]
end
for i = 1, #held do
  local p = tonumber(held[i])
  if p and p < newest - 1 then redis.call('HDEL', KEYS[1], held[i]) end
end
return { current, redis.call('HGET', KEYS[1], tostring(period - 1)) }
`;
