-- Move up to ARGV[2] tasks of one queue from pending to active, oldest first, leasing each.
-- KEYS[1] -> asynq:{q}:pending
-- KEYS[2] -> asynq:{q}:paused
-- KEYS[3] -> asynq:{q}:active
-- KEYS[4] -> asynq:{q}:lease
-- KEYS[5] -> asynq:{q}:t:  (task key prefix)
-- ARGV[1] -> lease expiry, unix seconds
-- ARGV[2] -> most tasks to take
-- ARGV[3] -> 1 to return each task's pending_since too (unix ns, "" when unset), else 0
-- Returns: a flat list id1, msg1, id2, msg2, ... (id1, msg1, since1, ... with ARGV[3] = 1);
--          empty when the queue is paused or empty
if redis.call("EXISTS", KEYS[2]) == 1 then
    return {}
end
local out = {}
local with_since = ARGV[3] == "1"
for _ = 1, tonumber(ARGV[2]) do
    local id = redis.call("RPOPLPUSH", KEYS[1], KEYS[3])
    if not id then
        break
    end
    local key = KEYS[5] .. id
    local msg = redis.call("HGET", key, "msg")
    if msg then
        local since = with_since and (redis.call("HGET", key, "pending_since") or "")
        redis.call("HSET", key, "state", "active")
        redis.call("HDEL", key, "pending_since")
        redis.call("ZADD", KEYS[4], ARGV[1], id)
        out[#out + 1] = id
        out[#out + 1] = msg
        if with_since then
            out[#out + 1] = since
        end
    else
        -- An id whose task hash is gone (deleted behind the queue's back): nothing to run,
        -- and leaving it in active would show a task that can never finish.
        redis.call("LREM", KEYS[3], 1, id)
    end
end
return out
