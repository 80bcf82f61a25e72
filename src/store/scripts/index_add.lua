
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local absolute = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '(0', string.format('%d', now))
        if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
        local over = {}
        local excess = redis.call('ZCOUNT', KEYS[1], '(0', '+inf') - tonumber(ARGV[3]) + 1
        if excess > 0 then
          over = redis.call('ZRANGE', KEYS[1], '(0', '+inf', 'BYSCORE', 'LIMIT', 0, excess)
          local claimed = {}
          for _, id in ipairs(over) do
            claimed[#claimed + 1] = 0
            claimed[#claimed + 1] = id
          end
          redis.call('ZADD', KEYS[1], 'XX', unpack(claimed))
        end
        redis.call('ZADD', KEYS[1], string.format('%d', now + absolute), ARGV[1])
        local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
        redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2])))
        return {now, over}
