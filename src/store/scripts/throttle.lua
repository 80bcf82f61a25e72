local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[#KEYS + 1])
local wait = 0
local due = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i])
  if limit > 0 then
    local tat = math.max(tonumber(redis.call('GET', key) or 0), now)
    due[i] = tat + math.floor(period / limit)
    wait = math.max(wait, due[i] - now - period)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if due[i] then
    redis.call('SET', key, string.format('%d', due[i]), 'PX', string.format('%d', due[i] - now))
  end
end
return 0
