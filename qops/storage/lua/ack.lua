-- Record the outcome of finished tasks of one queue: done, completed, retry or archived.
-- KEYS[1]  -> asynq:{q}:active
-- KEYS[2]  -> asynq:{q}:lease
-- KEYS[3]  -> asynq:{q}:completed
-- KEYS[4]  -> asynq:{q}:retry
-- KEYS[5]  -> asynq:{q}:archived
-- KEYS[6]  -> asynq:{q}:processed:<YYYY-MM-DD>
-- KEYS[7]  -> asynq:{q}:failed:<YYYY-MM-DD>
-- KEYS[8]  -> asynq:{q}:processed
-- KEYS[9]  -> asynq:{q}:failed
-- KEYS[10] -> asynq:{q}:t:  (task key prefix, to delete the hashes of trimmed archive entries)
-- KEYS[10+i] -> asynq:{q}:t:<id> of record i; then the unique-lock keys the records point at
-- ARGV[1]  -> now, unix seconds (archive score)
-- ARGV[2]  -> when a new daily counter expires, unix seconds (now + 90 days)
-- ARGV[3]  -> int64 max, where the total counters wrap to 1
-- ARGV[4]  -> archive age cutoff, unix seconds (now - 90 days)
-- ARGV[5]  -> archive size cap (10000)
-- ARGV[6..] -> records of 4 values each:
--     op: "d" done (delete), "c" completed, "r" retry, "a" archived
--     id
--     score: completed expiry or retry time, unix seconds ("" for d and a)
--     msg: the re-encoded TaskMessage for c, r and a ("" keeps the stored one)
--   followed by one unique-lock KEYS index per record (0: no lock to release)
-- Returns: one integer per record, 1 written, 0 the task was no longer active (skipped)
local n = (#ARGV - 5) / 5
local results = {}
local outcomes = {}
local processed, failed, archived = 0, 0, false
for i = 1, n do
    local base = 6 + (i - 1) * 4
    local op, id, score, msg = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
    local key = KEYS[10 + i]
    local removed = redis.call("LREM", KEYS[1], 0, id)
    local unleased = redis.call("ZREM", KEYS[2], id)
    if removed == 0 and unleased == 0 then
        -- Recovered by another server after our lease lapsed: the task is not ours any more.
        results[i] = 0
    else
        results[i] = 1
        processed = processed + 1
        if op == "d" or op == "c" then
            if op == "d" then
                redis.call("DEL", key)
            else
                redis.call("ZADD", KEYS[3], score, id)
                redis.call("HSET", key, "msg", msg, "state", "completed")
            end
            local lock = tonumber(ARGV[6 + n * 4 + i - 1])
            if lock > 0 and redis.call("GET", KEYS[lock]) == id then
                redis.call("DEL", KEYS[lock])
            end
            outcomes[#outcomes + 1] = false
        else
            failed = failed + 1
            if op == "r" then
                redis.call("ZADD", KEYS[4], score, id)
                redis.call("HSET", key, "state", "retry")
            else
                redis.call("ZADD", KEYS[5], ARGV[1], id)
                redis.call("HSET", key, "state", "archived")
                archived = true
            end
            if msg ~= "" then
                redis.call("HSET", key, "msg", msg)
            end
            outcomes[#outcomes + 1] = true
        end
    end
end
if archived then
    local function drop(ids)
        for _, old in ipairs(ids) do
            redis.call("DEL", KEYS[10] .. old)
        end
        for s = 1, #ids, 4000 do
            redis.call("ZREM", KEYS[5], unpack(ids, s, math.min(s + 3999, #ids)))
        end
    end
    drop(redis.call("ZRANGE", KEYS[5], "-inf", ARGV[4], "BYSCORE"))
    drop(redis.call("ZRANGE", KEYS[5], 0, -tonumber(ARGV[5])))
end
local function daily(key, by)
    if redis.call("INCRBY", key, by) == by then
        redis.call("EXPIREAT", key, ARGV[2])
    end
end
if processed > 0 then
    daily(KEYS[6], processed)
    if failed > 0 then
        daily(KEYS[7], failed)
    end
    local total = tonumber(redis.call("GET", KEYS[8]) or "0")
    if total < 9.2e18 then
        redis.call("INCRBY", KEYS[8], processed)
        if failed > 0 then
            redis.call("INCRBY", KEYS[9], failed)
        end
    else
        -- Within reach of int64 max: replay Asynq's one-by-one wrap exactly.
        for _, failure in ipairs(outcomes) do
            if redis.call("GET", KEYS[8]) == ARGV[3] then
                redis.call("SET", KEYS[8], 1)
                if failure then
                    redis.call("SET", KEYS[9], 1)
                end
            else
                redis.call("INCR", KEYS[8])
                if failure then
                    redis.call("INCR", KEYS[9])
                end
            end
        end
    end
end
return results
