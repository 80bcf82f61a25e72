-- A refused login of one user, recorded apart from the user's security log, coalesced per client.
-- KEYS[1] the user's log (user:{<id>}:events), KEYS[2] the user's refusals (user:{<id>}:refused).
-- ARGV: [1] the client (an IPv4 address or an IPv6 /64), [2] why (throttled, wrong_password),
--       [3] the device's name, [4] the client's address, [5] the most clients kept.
-- Answers the client's count of refused attempts, or 0 when nothing was written.
--
-- Only a user with a log (a session in the last absolute lifetime) gets refusals recorded, and
-- the record expires when that log does (the same PEXPIREAT): an anonymous client creates no key for a name never
-- used, and keeps none alive. One field per client, rewritten in place: a flood is one entry
-- with a count, and at most ARGV[5] clients are kept (the one seen longest ago goes first), so
-- refusals never push the user's own events out of the log, which they never touch.
local deadline = redis.call('PEXPIRETIME', KEYS[1])
if deadline <= 0 then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local count = 1
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  count = cjson.decode(old).count + 1
elseif redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then
  local all = redis.call('HGETALL', KEYS[2])
  local oldest, oldest_at = nil, nil
  for i = 1, #all, 2 do
    local at = cjson.decode(all[i + 1]).at
    if oldest_at == nil or at < oldest_at then oldest, oldest_at = all[i], at end
  end
  redis.call('HDEL', KEYS[2], oldest)
end
redis.call('HSET', KEYS[2], ARGV[1],
  cjson.encode({count = count, at = now, type = ARGV[2], device = ARGV[3], ip = ARGV[4]}))
redis.call('PEXPIREAT', KEYS[2], deadline)
return count
