-- Decide whether a group is due for aggregation and, if so, move its tasks (up to the max
-- size, oldest first, with their scores) into a new aggregation set with a deadline.
-- Rules, in order: the group holds max size tasks or more; its oldest task waited max delay;
-- its newest task is older than the grace period.
-- KEYS[1] -> asynq:{q}:g:<group>
-- KEYS[2] -> asynq:{q}:g:<group>:<set id>  (the new aggregation set)
-- KEYS[3] -> asynq:{q}:aggregation_sets
-- KEYS[4] -> asynq:{q}:groups
-- ARGV[1] -> max size, 0 for no limit
-- ARGV[2] -> max delay in seconds, 0 for no limit
-- ARGV[3] -> grace period in seconds
-- ARGV[4] -> the set's deadline, unix seconds
-- ARGV[5] -> now, unix seconds
-- ARGV[6] -> group name
-- Returns: 1 a set was made, 0 the group is not due (or empty)
local size = redis.call("ZCARD", KEYS[1])
if size == 0 then
    -- Asynq keeps the name of an emptied group and checks it on every tick from then on.
    redis.call("SREM", KEYS[4], ARGV[6])
    return 0
end
local max_size = tonumber(ARGV[1])
local max_delay = tonumber(ARGV[2])
local now = tonumber(ARGV[5])
local due = max_size ~= 0 and size >= max_size
if not due and max_delay ~= 0 then
    local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
    due = tonumber(oldest[2]) <= now - max_delay
end
if not due then
    local newest = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
    due = tonumber(newest[2]) <= now - tonumber(ARGV[3])
end
if not due then
    return 0
end
-- With no max size, max_size - 1 = -1 is the last rank: the whole group.
local members = redis.call("ZRANGE", KEYS[1], 0, max_size - 1, "WITHSCORES")
for i = 1, #members, 2 do
    redis.call("ZADD", KEYS[2], members[i + 1], members[i])
end
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, max_size - 1)
redis.call("ZADD", KEYS[3], ARGV[4], KEYS[2])
if redis.call("EXISTS", KEYS[1]) == 0 then
    redis.call("SREM", KEYS[4], ARGV[6])
end
return 1
