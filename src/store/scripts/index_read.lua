
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '(0', string.format('%d', now))
        return {now, redis.call('ZRANGE', KEYS[1], 0, -1, 'REV', 'WITHSCORES')}
