-- Delete every key of a queue that holds no task: containers, flags and counters.
-- KEYS[1]   -> asynq:{q}:pending
-- KEYS[2]   -> asynq:{q}:active
-- KEYS[3]   -> asynq:{q}:scheduled
-- KEYS[4]   -> asynq:{q}:retry
-- KEYS[5]   -> asynq:{q}:archived
-- KEYS[6]   -> asynq:{q}:completed
-- KEYS[7]   -> asynq:{q}:groups
-- KEYS[8]   -> asynq:{q}:aggregation_sets
-- KEYS[9..] -> the other keys to delete: lease, paused, processed, failed and the daily
--              processed:<day> / failed:<day> counters
-- ARGV[1]   -> group key prefix asynq:{q}:g:
-- Returns: 1 deleted; -1 the queue still holds tasks (nothing deleted)
for i = 1, 2 do
    if redis.call("LLEN", KEYS[i]) > 0 then
        return -1
    end
end
for i = 3, 6 do
    if redis.call("ZCARD", KEYS[i]) > 0 then
        return -1
    end
end
if redis.call("ZCARD", KEYS[8]) > 0 then
    return -1
end
-- A group name may outlive its tasks; only a group that still holds tasks counts.
for _, name in ipairs(redis.call("SMEMBERS", KEYS[7])) do
    if redis.call("ZCARD", ARGV[1] .. name) > 0 then
        return -1
    end
end
for s = 1, #KEYS, 1000 do
    redis.call("DEL", unpack(KEYS, s, math.min(s + 999, #KEYS)))
end
return 1
