-- Enqueue a batch of tasks into one queue, each as pending or scheduled.
-- KEYS[1]    -> asynq:{q}:pending
-- KEYS[2]    -> asynq:{q}:scheduled
-- KEYS[3..]  -> asynq:{q}:t:<id>, one per task, in ARGV order
-- ARGV[1]    -> now, unix nanoseconds (pending_since)
-- ARGV[2]    -> wake channel, published to when a task became pending
-- ARGV[4i-1] -> encoded TaskMessage of task i (i from 1)
-- ARGV[4i]   -> task id
-- ARGV[4i+1] -> process_at in unix seconds, or "" to make the task pending now
-- ARGV[4i+2] -> group of a scheduled task, or ""; the forwarder then moves it to its group
-- Returns: one integer per task, 1 = enqueued, 0 = the task id is already used
local results = {}
local ready = {}
for i = 3, #KEYS do
    local n = (i - 2) * 4 - 1
    local key = KEYS[i]
    if redis.call("EXISTS", key) == 1 then
        results[#results + 1] = 0
    else
        local at = ARGV[n + 2]
        if at == "" then
            redis.call("HSET", key, "msg", ARGV[n], "state", "pending", "pending_since", ARGV[1])
            ready[#ready + 1] = ARGV[n + 1]
        else
            redis.call("HSET", key, "msg", ARGV[n], "state", "scheduled")
            if ARGV[n + 3] ~= "" then
                redis.call("HSET", key, "group", ARGV[n + 3])
            end
            redis.call("ZADD", KEYS[2], at, ARGV[n + 1])
        end
        results[#results + 1] = 1
    end
end
if #ready > 0 then
    -- unpack has a stack limit; push in slices so any batch size works.
    for s = 1, #ready, 4000 do
        redis.call("LPUSH", KEYS[1], unpack(ready, s, math.min(s + 3999, #ready)))
    end
    redis.call("PUBLISH", ARGV[2], #ready)
end
return results
