
local now = tonumber(redis.call('TIME')[1])
local f = redis.call('HMGET', KEYS[1], 'user_id', 'username', 'created_at')
local created = f[3] and tonumber(f[3])
if not (f[1] and f[2] and created) then
  redis.call('DEL', KEYS[1])
  return false
end
local left = created + tonumber(ARGV[2]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = math.min(tonumber(ARGV[1]), left)
redis.call('EXPIRE', KEYS[1], ttl)
return {f[1], f[2], f[3], ttl}
