
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then return id end
id = 'user_' .. redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], id)
return id
