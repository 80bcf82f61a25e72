-- A re-authentication's first step, on the old session's slot. KEYS[1]: the old session,
-- KEYS[2]: its marker, moved:{<old session key>} (the same slot). ARGV[1]: the new session's id
-- (as Redis holds it), ARGV[2]: the marker's TTL in milliseconds.
-- Answers the old session's fields, or false when it is gone (then nothing is written).
-- The old session stays until the new one is written (scripts/rotated.lua ends it); the marker
-- says what it became, so a logout with the old cookie meanwhile, or just after, ends both.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return redis.call('HGETALL', KEYS[1])
