-- Put active tasks of one queue back at the head of pending, as a shutdown does with the tasks
-- it could not finish. No failure is counted and the retry count is unchanged.
-- KEYS[1]    -> asynq:{q}:active
-- KEYS[2]    -> asynq:{q}:lease
-- KEYS[3]    -> asynq:{q}:pending
-- KEYS[3+i]  -> asynq:{q}:t:<id> of ARGV[2+i]
-- ARGV[1]    -> wake channel, published to so idle workers pick the tasks up at once
-- ARGV[2]    -> now, unix nanoseconds: the tasks wait in pending again from now on, so the
--               queue's latency counts them (Asynq leaves the field out and reads 0)
-- ARGV[2+i]  -> task id
-- Returns: the number of tasks put back
local count = 0
for i = 3, #ARGV do
    local id = ARGV[i]
    local removed = redis.call("LREM", KEYS[1], 0, id)
    local unleased = redis.call("ZREM", KEYS[2], id)
    if removed > 0 or unleased > 0 then
        redis.call("RPUSH", KEYS[3], id)
        redis.call("HSET", KEYS[1 + i], "state", "pending", "pending_since", ARGV[2])
        count = count + 1
    end
end
if count > 0 then
    redis.call("PUBLISH", ARGV[1], count)
end
return count
