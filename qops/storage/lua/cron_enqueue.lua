-- Claim one tick of one periodic entry and enqueue its task, unless a scheduler already did.
-- Claim and enqueue happen together: a scheduler that dies midway leaves the tick either
-- done or free, never claimed but not enqueued.
-- KEYS[1]     -> qops:cron:{q}:<entry id>:<tick>, the claim
-- KEYS[2]     -> asynq:{q}:t:<id>
-- KEYS[3]     -> asynq:{q}:pending, or asynq:{q}:g:<group> for a grouped task
-- KEYS[4]     -> asynq:{q}:groups, only for a grouped task
-- KEYS[#KEYS] -> asynq:{q}:unique:<type>:<md5 of payload>, only when ARGV[7] > 0
-- ARGV[1] -> task id
-- ARGV[2] -> encoded TaskMessage
-- ARGV[3] -> now, unix nanoseconds (pending_since)
-- ARGV[4] -> now, unix seconds (score in the group)
-- ARGV[5] -> wake channel, published to when the task became pending
-- ARGV[6] -> group name, or ""
-- ARGV[7] -> unique lock TTL in whole seconds, or 0
-- ARGV[8] -> claim TTL in whole seconds
-- ARGV[9] -> claim value: the id of the scheduler
-- Returns: 1 enqueued, 2 the tick was already claimed, -1 the unique lock is held by another
-- task, 0 the task id is already used
if not redis.call("SET", KEYS[1], ARGV[9], "NX", "EX", ARGV[8]) then
    return 2
end
local unique = tonumber(ARGV[7]) > 0
if unique and not redis.call("SET", KEYS[#KEYS], ARGV[1], "NX", "EX", ARGV[7]) then
    return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
    if unique then
        redis.call("DEL", KEYS[#KEYS])
    end
    return 0
end
if ARGV[6] == "" then
    redis.call("HSET", KEYS[2], "msg", ARGV[2], "state", "pending", "pending_since", ARGV[3])
    redis.call("LPUSH", KEYS[3], ARGV[1])
    redis.call("PUBLISH", ARGV[5], 1)
else
    redis.call("HSET", KEYS[2], "msg", ARGV[2], "state", "aggregating", "group", ARGV[6])
    redis.call("ZADD", KEYS[3], ARGV[4], ARGV[1])
    redis.call("SADD", KEYS[4], ARGV[6])
end
if unique then
    redis.call("HSET", KEYS[2], "unique_key", KEYS[#KEYS])
end
return 1
