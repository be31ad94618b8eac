-- Move due tasks of one queue from scheduled or retry to pending, or into their group when
-- the task hash names one. At most ARGV[5] per call; the caller repeats while a call is full.
-- KEYS[1] -> asynq:{q}:scheduled or asynq:{q}:retry
-- KEYS[2] -> asynq:{q}:pending
-- KEYS[3] -> asynq:{q}:groups
-- ARGV[1] -> now, unix seconds: tasks scored at or before it are due; also the group score
-- ARGV[2] -> now, unix nanoseconds (pending_since)
-- ARGV[3] -> task key prefix asynq:{q}:t:
-- ARGV[4] -> group key prefix asynq:{q}:g:
-- ARGV[5] -> most tasks to move
-- ARGV[6] -> wake channel, published to when tasks became pending
-- Returns: the number of ids taken out of KEYS[1]
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[5]))
local ready = 0
for _, id in ipairs(ids) do
    local key = ARGV[3] .. id
    redis.call("ZREM", KEYS[1], id)
    local group = redis.call("HGET", key, "group")
    if group and group ~= "" then
        redis.call("ZADD", ARGV[4] .. group, ARGV[1], id)
        -- Asynq leaves the name out of the groups set, so no aggregator ever looks at it.
        redis.call("SADD", KEYS[3], group)
        redis.call("HSET", key, "state", "aggregating")
    elseif redis.call("EXISTS", key) == 1 then
        redis.call("LPUSH", KEYS[2], id)
        redis.call("HSET", key, "state", "pending", "pending_since", ARGV[2])
        ready = ready + 1
    end
    -- An id whose hash is gone only leaves the set: a hash made of a state alone would be
    -- a task nobody can decode.
end
if ready > 0 then
    redis.call("PUBLISH", ARGV[6], ready)
end
return #ids
