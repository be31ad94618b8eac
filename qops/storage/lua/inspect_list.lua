-- Read the tasks of one container in listing order, one window of positions per call.
-- Listing order: lists (pending, active) next-to-run first, that is from the right end;
-- zsets by ascending score.
-- KEYS[1] -> the container: asynq:{q}:pending or :active (list), or asynq:{q}:scheduled,
--            :retry, :archived, :completed or :g:<group> (zset)
-- KEYS[2] -> asynq:{q}:lease, read when ARGV[8] is "1"
-- ARGV[1] -> "list" or "zset"
-- ARGV[2] -> task key prefix asynq:{q}:t:
-- ARGV[3] -> first position to read, 0-based
-- ARGV[4] -> positions to read at most
-- ARGV[5] -> type filter: the bytes every message of the wanted type starts with, or "" for
--            all. Encoders write field 1 (type) first, so the prefix test is exact.
-- ARGV[6] -> matching tasks to pass over before collecting (page offset)
-- ARGV[7] -> matching tasks to collect; reading stops once that many are collected
-- ARGV[8] -> "1" to give each task its lease expiry as score (active tasks)
-- Returns: {read, passed, id, msg, result, score, problem, since, id, msg, ...}
--          read: positions read (fewer than ARGV[4] at the end of the container or when the
--          page is full); passed: matching tasks passed over; per collected task its hash's
--          msg and result (false when absent), its score (false when none), problem:
--          false, or the error met reading the hash, and since: its pending_since field
--          (unix ns; false when absent). Ids whose hash is gone are left out.
local start, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local prefix, skip, want = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])

-- A container of the wrong type reads as empty, as in the stats, instead of failing.
local ids, scores = {}, {}
if ARGV[1] == "list" then
    local got = redis.pcall("LRANGE", KEYS[1], -(start + window), -(start + 1))
    for i = #got, 1, -1 do
        ids[#ids + 1] = got[i]
    end
else
    local got = redis.pcall("ZRANGE", KEYS[1], start, start + window - 1, "WITHSCORES")
    for i = 1, #got, 2 do
        ids[#ids + 1] = got[i]
        scores[#ids] = got[i + 1]
    end
end

local out = {0, 0}
local read, passed, taken = 0, 0, 0
for i, id in ipairs(ids) do
    if want > 0 and taken >= want then
        break
    end
    read = i
    local key = ARGV[2] .. id
    local msg, result, problem, since = false, false, false, false
    local fields = redis.pcall("HMGET", key, "msg", "result", "pending_since")
    if fields.err then
        problem = fields.err
    else
        msg, result, since = fields[1], fields[2], fields[3]
    end
    local exists = problem or msg or result or redis.call("EXISTS", key) == 1
    if exists and (prefix == "" or (msg and string.sub(msg, 1, #prefix) == prefix)) then
        if passed < skip then
            passed = passed + 1
        elseif taken < want then
            taken = taken + 1
            local score = scores[i] or false
            if ARGV[8] == "1" then
                score = redis.call("ZSCORE", KEYS[2], id)
            end
            out[#out + 1] = id
            out[#out + 1] = msg
            out[#out + 1] = result
            out[#out + 1] = score
            out[#out + 1] = problem
            out[#out + 1] = since
        end
    end
end
out[1], out[2] = read, passed
return out
