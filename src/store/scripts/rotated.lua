-- A re-authentication's last step, once the new session is written. KEYS[1]: the old session,
-- KEYS[2]: its marker. ARGV[1]: the new session's id. When the marker still names the new
-- session, no logout came in between: the old session ends and 1 is answered (the marker stays,
-- for a logout with the old cookie that arrives just after). Otherwise 0: a logout took the
-- marker, and the caller ends the new session.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
