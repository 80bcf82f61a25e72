local ids = {}
for i = 7, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  'type', ARGV[3], 'device', ARGV[4], 'ip', ARGV[5], 'handle', ARGV[6])
if type(added) == 'table' and added.err then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
