-- Put one task into a group, where it waits (state aggregating) to be aggregated.
-- KEYS[1] -> asynq:{q}:t:<id>
-- KEYS[2] -> asynq:{q}:g:<group>
-- KEYS[3] -> asynq:{q}:groups
-- KEYS[4] -> asynq:{q}:unique:<type>:<md5 of payload>, only for a unique task
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task id
-- ARGV[3] -> now, unix seconds
-- ARGV[4] -> group name
-- ARGV[5] -> lock TTL in whole seconds, only for a unique task
-- Returns: 1 added, -1 the lock is held by another task, 0 the task id is already used
if KEYS[4] and not redis.call("SET", KEYS[4], ARGV[2], "NX", "EX", ARGV[5]) then
    return -1
end
if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4])
if KEYS[4] then
    -- Asynq leaves this field out; with it, deleting the task also frees its lock.
    redis.call("HSET", KEYS[1], "unique_key", KEYS[4])
end
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
return 1
