-- A new session (the service's login): its hash and its idle TTL in one atomic step, with
-- `created_at` taken from Redis's clock, so a login needs no earlier round trip to learn it.
-- KEYS[1]: the session key. ARGV[1]: the idle TTL in seconds; ARGV[2], ARGV[3]: user_id, username;
-- ARGV[4], ARGV[5]: device, ip (empty when unknown). Returns `created_at` (unix seconds).
local now = redis.call('TIME')[1]
redis.call('HSET', KEYS[1], 'user_id', ARGV[2], 'username', ARGV[3], 'created_at', now,
  'device', ARGV[4], 'ip', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return tonumber(now)
