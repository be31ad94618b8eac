-- Enqueue one task that holds a uniqueness lock, as pending or scheduled.
-- KEYS[1] -> asynq:{q}:unique:<type>:<md5 of payload>
-- KEYS[2] -> asynq:{q}:t:<id>
-- KEYS[3] -> asynq:{q}:pending, or asynq:{q}:scheduled when ARGV[5] is set
-- ARGV[1] -> task id
-- ARGV[2] -> lock TTL, whole seconds
-- ARGV[3] -> encoded TaskMessage
-- ARGV[4] -> now, unix nanoseconds
-- ARGV[5] -> process_at in unix seconds, or "" to make the task pending now
-- ARGV[6] -> wake channel
-- ARGV[7] -> group of a scheduled task, or ""
-- Returns: 1 enqueued, -1 the lock is held by another task, 0 the task id is already used
if not redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2]) then
    return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
    return 0
end
if ARGV[5] == "" then
    redis.call("HSET", KEYS[2], "msg", ARGV[3], "state", "pending", "pending_since", ARGV[4],
        "unique_key", KEYS[1])
    redis.call("LPUSH", KEYS[3], ARGV[1])
    redis.call("PUBLISH", ARGV[6], 1)
else
    redis.call("HSET", KEYS[2], "msg", ARGV[3], "state", "scheduled", "unique_key", KEYS[1])
    redis.call("ZADD", KEYS[3], ARGV[5], ARGV[1])
    if ARGV[7] ~= "" then
        redis.call("HSET", KEYS[2], "group", ARGV[7])
    end
end
return 1
