-- A new session whose `created_at` the store estimated wrong (its idea of Redis's clock was
-- stale: the machine slept, or Redis's clock was set; see src/store/clock.rs): the right value,
-- written only while the session exists (an HSET on a deleted key would bring it back, partial
-- and with no TTL). KEYS[1]: the session key. ARGV[1]: created_at (unix seconds).
-- Returns 1 if written, 0 if the session is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'created_at', ARGV[1])
return 1
