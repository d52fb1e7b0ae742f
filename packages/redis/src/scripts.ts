/**
 * The hot store's Lua scripts. Each runs atomically on the server, touches the keys of one shard (one hash
 * tag, so one Cluster slot; `record` may also touch the previous visitor key's shard on a single Redis) and
 * is sent as EVALSHA through ioredis `defineCommand`. Keys not listed in KEYS are built from the shard's
 * base passed in ARGV, so they share the declared keys' tag.
 *
 * Numbers arrive as the strings JavaScript formatted and are stored unchanged, so they read back exactly;
 * a computed number is formatted with `%.17g`.
 */

const COMMON = `
local function num(n) return string.format('%.17g', n) end
`;

/**
 * One page view. KEYS: pointer, rate counter, expiry index, lease index, real-time (overall), previous
 * pointer, previous expiry index, previous lease index. ARGV[1]: JSON payload (see `hot-store.ts`).
 * Returns `{ viewsThisMinute, the live session before this view (flat hash, or empty) }`.
 */
export const RECORD_LUA = `${COMMON}
local p = cjson.decode(ARGV[1])
local at = tonumber(p.at)
local ttl = p.ttl

local count = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 120000)
local viewIsBot = (p.bot == '1') or (count > tonumber(p.botMax))
local botFlag = '0'
if viewIsBot then botFlag = '1' end

local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end

-- The visitor's live session: one a sweeper has claimed (in the lease index) is the sweeper's, not the visitor's.
local sid = redis.call('GET', KEYS[1])
local cur = nil
if sid and redis.call('ZSCORE', KEYS[4], sid) then sid = nil end
if sid then
  cur = redis.call('HGETALL', p.base .. 's:' .. sid)
  if #cur == 0 then
    cur = nil
    sid = nil
  end
end

local prev = p.prev
if prev and prev.mode == 'adopt' then
  -- The previous key's session, detached from its own slot by an earlier call (Redis Cluster only).
  local aid = field(prev.fields, 'id')
  local akey = p.base .. 's:' .. aid
  redis.call('DEL', akey)
  redis.call('HSET', akey, unpack(prev.fields))
  redis.call('ZADD', KEYS[3], field(prev.fields, 'lastSeenAt'), aid)
  redis.call('PEXPIRE', akey, ttl)
  if sid then
    -- The visitor already has a session: the adopted one stays on its own until the sweeper finalizes it.
    redis.call('HSET', akey, '_v', '')
  else
    redis.call('HSET', akey, '_v', p.vk)
    redis.call('SET', KEYS[1], aid, 'PX', ttl)
    sid = aid
    cur = redis.call('HGETALL', akey)
  end
elseif prev and prev.mode == 'lookup' and not sid then
  local psid = redis.call('GET', KEYS[6])
  if psid and not redis.call('ZSCORE', KEYS[8], psid) then
    local pkey = prev.base .. 's:' .. psid
    local pcur = redis.call('HGETALL', pkey)
    if #pcur > 0 then
      -- Move the session to this visitor key (and its shard): a session continues across a salt rotation.
      local nkey = p.base .. 's:' .. psid
      redis.call('DEL', KEYS[6])
      redis.call('ZREM', KEYS[7], psid)
      if pkey ~= nkey then redis.call('RENAME', pkey, nkey) end
      redis.call('HSET', nkey, '_v', p.vk)
      redis.call('SET', KEYS[1], psid, 'PX', ttl)
      sid = psid
      cur = redis.call('HGETALL', nkey)
    end
  end
end

local start = true
if cur then
  local key = p.base .. 's:' .. sid
  local lastStr = field(cur, 'lastSeenAt')
  local last = tonumber(lastStr)
  local gap = at - last
  if gap < 0 then gap = 0 end
  if gap <= tonumber(p.timeout) then
    start = false
    local newLast = lastStr
    if at > last then newLast = p.at end
    local isBot = botFlag
    if field(cur, 'isBot') == '1' then isBot = '1' end
    local pageViews = tonumber(field(cur, 'pageViews')) + 1
    redis.call('HSET', key, 'visitorKey', p.vk, 'lastSeenAt', newLast, 'pageViews', tostring(pageViews),
      'exitPath', p.path, 'lastViewId', p.id, 'lastViewDay', p.day, 'lastViewIsBot', botFlag, 'isBot', isBot)
    if p.userId then redis.call('HSET', key, 'userId', p.userId) end
    redis.call('HDEL', key, 'lastEngagedMs')
    redis.call('PEXPIRE', key, ttl)
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('ZADD', KEYS[3], newLast, sid)
  else
    -- Ended: it leaves the expiry index here, so no sweeper can also return it; the caller finalizes it.
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[3], sid)
  end
end

if start then
  local key = p.base .. 's:' .. p.sid
  redis.call('HSET', key, unpack(p.start))
  redis.call('HSET', key, 'lastViewIsBot', botFlag, 'isBot', botFlag, '_v', p.vk)
  redis.call('PEXPIRE', key, ttl)
  redis.call('SET', KEYS[1], p.sid, 'PX', ttl)
  redis.call('ZADD', KEYS[3], p.at, p.sid)
end
redis.call('PEXPIRE', KEYS[3], ttl)

if not viewIsBot then
  local floor = '(' .. num(at - tonumber(p.window))
  local function mark(key)
    redis.call('ZADD', key, 'GT', p.at, p.vk)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', floor)
    redis.call('PEXPIRE', key, p.window)
  end
  mark(KEYS[5])
  for i = 1, #p.scopes do mark(p.base .. 'rt:' .. p.scopes[i]) end
end

return { count, cur or {} }
`;

/**
 * Detach the live session of a visitor key so another slot can adopt it (Redis Cluster, after a salt
 * rotation). KEYS: pointer, expiry index, lease index. ARGV: shard base. Returns the flat hash or empty.
 */
export const DETACH_LUA = `
local sid = redis.call('GET', KEYS[1])
if not sid then return {} end
if redis.call('ZSCORE', KEYS[3], sid) then return {} end
local key = ARGV[1] .. 's:' .. sid
local flat = redis.call('HGETALL', key)
if #flat == 0 then return {} end
redis.call('DEL', KEYS[1], key)
redis.call('ZREM', KEYS[2], sid)
return flat
`;

/**
 * Beacon engagement on the live (unclaimed) session. KEYS: pointer, lease index. ARGV: shard base, view id, engaged ms (empty for none).
 * Returns `{ sessionId, lastViewDay, lastSeenAt, exitPath, lastViewIsBot }` or nil.
 */
export const ENGAGE_LUA = `
local sid = redis.call('GET', KEYS[1])
if not sid or redis.call('ZSCORE', KEYS[2], sid) then return nil end
local key = ARGV[1] .. 's:' .. sid
local f = redis.call('HMGET', key, 'lastViewId', 'lastEngagedMs', 'lastViewDay', 'lastSeenAt', 'exitPath', 'lastViewIsBot')
if not f[1] or f[1] ~= ARGV[2] then return nil end
if ARGV[3] ~= '' then
  local engaged = tonumber(ARGV[3])
  local current = 0
  if f[2] then current = tonumber(f[2]) end
  if engaged > current then
    redis.call('HSET', key, 'lastEngagedMs', ARGV[3])
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
 * Candidates for finalization in one shard, without claiming them. KEYS: expiry index, lease index.
 * ARGV: shard base, now, timeout, limit. Returns flat `[sessionId, lastSeenAt, …]`.
 */
export const PEEK_LUA = `${COMMON}
local now = tonumber(ARGV[2])
local timeout = tonumber(ARGV[3])
local out = {}
local idle = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. num(now - timeout), 'WITHSCORES', 'LIMIT', 0, ARGV[4])
for i = 1, #idle, 2 do
  out[#out + 1] = idle[i]
  out[#out + 1] = idle[i + 1]
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

/** The salt of a period, created once. KEYS: salt key. ARGV: new salt, TTL. Returns the salt in force. */
export const SALT_LUA = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;
