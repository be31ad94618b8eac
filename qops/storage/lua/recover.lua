-- Take one active task whose lease expired away from its lost worker: to retry, to archive
-- (retries used up) or straight back to the head of pending (no recovery delay, the default;
-- it had reached the head once already), counted as a failure. Lease and active entries that
-- point at no active task are removed instead.
-- KEYS[1]  -> asynq:{q}:t:<id>
-- KEYS[2]  -> asynq:{q}:active
-- KEYS[3]  -> asynq:{q}:lease
-- KEYS[4]  -> asynq:{q}:retry
-- KEYS[5]  -> asynq:{q}:archived
-- KEYS[6]  -> asynq:{q}:pending
-- KEYS[7]  -> asynq:{q}:processed:<YYYY-MM-DD>
-- KEYS[8]  -> asynq:{q}:failed:<YYYY-MM-DD>
-- KEYS[9]  -> asynq:{q}:processed
-- KEYS[10] -> asynq:{q}:failed
-- KEYS[11] -> asynq:{q}:t:  (task key prefix, to delete the hashes of trimmed archive entries)
-- ARGV[1]  -> task id
-- ARGV[2]  -> lease cutoff, unix seconds: nothing happens unless the lease is at or before it
-- ARGV[3]  -> "retry", "archive" or "pending"
-- ARGV[4]  -> the re-encoded TaskMessage (error, last failure time, retry count)
-- ARGV[5]  -> retry time, unix seconds (retry only)
-- ARGV[6]  -> now, unix seconds (archive score)
-- ARGV[7]  -> now, unix nanoseconds (pending_since)
-- ARGV[8]  -> when a new daily counter expires, unix seconds (now + 90 days)
-- ARGV[9]  -> int64 max, where the total counters wrap to 1
-- ARGV[10] -> archive age cutoff, unix seconds (now - 90 days)
-- ARGV[11] -> archive size cap (10000)
-- ARGV[12] -> wake channel, published to when the task became pending
-- Returns: 1 retry, 2 archived, 3 pending; 0 nothing done (the lease is gone or was
--          extended); -1 stale entries removed (no task hash, or the task is not active)
local id = ARGV[1]
local lease = redis.call("ZSCORE", KEYS[3], id)
if not lease or tonumber(lease) > tonumber(ARGV[2]) then
    return 0
end
redis.call("ZREM", KEYS[3], id)
redis.call("LREM", KEYS[2], 0, id)
-- Asynq keeps failing on such entries with "NOT FOUND" once a minute, forever.
if redis.call("HGET", KEYS[1], "state") ~= "active" then
    return -1
end
local result
if ARGV[3] == "retry" then
    redis.call("ZADD", KEYS[4], ARGV[5], id)
    redis.call("HSET", KEYS[1], "msg", ARGV[4], "state", "retry")
    result = 1
elseif ARGV[3] == "pending" then
    redis.call("RPUSH", KEYS[6], id)
    redis.call("HSET", KEYS[1], "msg", ARGV[4], "state", "pending", "pending_since", ARGV[7])
    redis.call("PUBLISH", ARGV[12], 1)
    result = 3
else
    redis.call("ZADD", KEYS[5], ARGV[6], id)
    local function drop(ids)
        for _, old in ipairs(ids) do
            redis.call("DEL", KEYS[11] .. old)
        end
        for s = 1, #ids, 4000 do
            redis.call("ZREM", KEYS[5], unpack(ids, s, math.min(s + 3999, #ids)))
        end
    end
    drop(redis.call("ZRANGE", KEYS[5], "-inf", ARGV[10], "BYSCORE"))
    drop(redis.call("ZRANGE", KEYS[5], 0, -tonumber(ARGV[11])))
    redis.call("HSET", KEYS[1], "msg", ARGV[4], "state", "archived")
    result = 2
end
local function daily(key, by)
    if redis.call("INCRBY", key, by) == by then
        redis.call("EXPIREAT", key, ARGV[8])
    end
end
daily(KEYS[7], 1)
daily(KEYS[8], 1)
if redis.call("GET", KEYS[9]) == ARGV[9] then
    redis.call("SET", KEYS[9], 1)
    redis.call("SET", KEYS[10], 1)
else
    redis.call("INCR", KEYS[9])
    redis.call("INCR", KEYS[10])
end
return result
