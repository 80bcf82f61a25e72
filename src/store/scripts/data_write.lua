-- A batch of changes to one hash's values (src/store/data.rs), all or nothing, in one script on
-- the hash's key: nothing is written into a hash that is gone (an HSET would bring a logged-out
-- session back, partial and without a TTL), and nothing at all when a bound would be passed.
-- KEYS[1]: the hash (session:<id> or visitor:<id>).
-- ARGV[1]: 'session' (never create) or 'create' (a visitor's first write may create it).
-- ARGV[2]: the idle TTL in seconds, for a created hash.
-- ARGV[3], ARGV[4], ARGV[5]: at most this many values, bytes in one value, bytes in all.
-- ARGV[6...]: the changes, three arguments each: 'set' field json | 'del' field '' | 'incr' field by.
-- Returns {'ok', <each increment's new value>...}, or {'gone'}, {'not_a_number', field},
-- {'value_bytes', field}, {'values'}, {'total_bytes'}.
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 and ARGV[1] ~= 'create' then return {'gone'} end
local max_values, max_value, max_total = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
-- The values as they will be: each field's current text, then the batch applied in order.
local values = {}
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 5) == 'data:' then values[fields[i]] = fields[i + 1] end
end
local counters = {}
for i = 6, #ARGV, 3 do
  local op, field, arg = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'set' then
    if #arg > max_value then return {'value_bytes', field} end
    values[field] = arg
  elseif op == 'del' then
    values[field] = nil
  else
    local now = values[field] or '0'
    -- A whole number Lua's doubles hold exactly; HINCRBY would refuse the rest half-way.
    if not string.match(now, '^%-?%d+$') then return {'not_a_number', field} end
    local sum = tonumber(now) + tonumber(arg)
    if math.abs(sum) > 9007199254740991 then return {'not_a_number', field} end
    values[field] = string.format('%d', sum)
  end
end
local count, total = 0, 0
for _, text in pairs(values) do
  count = count + 1
  total = total + #text
end
if count > max_values then return {'values'} end
if total > max_total then return {'total_bytes'} end
-- Every check passed: write.
if redis.call('EXISTS', key) == 0 then
  local t = redis.call('TIME')
  redis.call('HSET', key, 'created_at', t[1])
  redis.call('EXPIRE', key, ARGV[2])
end
for i = 6, #ARGV, 3 do
  local op, field, arg = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'set' then
    redis.call('HSET', key, field, arg)
  elseif op == 'del' then
    redis.call('HDEL', key, field)
  else
    counters[#counters + 1] = redis.call('HINCRBY', key, field, arg)
  end
end
local answer = {'ok'}
for _, value in ipairs(counters) do answer[#answer + 1] = value end
return answer
