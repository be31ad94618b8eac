-- Run, archive or delete the tasks of one container, one chunk per call, so Redis never
-- blocks long however many tasks there are. The caller repeats the call, moving its read
-- position past the tasks kept, until fewer than a chunk are read.
-- KEYS[1] -> the source: asynq:{q}:pending (list), or a zset: asynq:{q}:scheduled, :retry,
--            :archived, :completed, :g:<group> or an aggregation set :g:<group>:<set id>
-- KEYS[2] -> asynq:{q}:pending
-- KEYS[3] -> asynq:{q}:archived
-- KEYS[4] -> asynq:{q}:groups
-- ARGV[1]  -> "run", "archive" or "delete"
-- ARGV[2]  -> "list" or "zset"
-- ARGV[3]  -> task key prefix asynq:{q}:t:
-- ARGV[4]  -> position to read from (the tasks kept by earlier calls lie before it)
-- ARGV[5]  -> zset only: the last member kept by the previous call, or ""; while it is still
--             there reading resumes right after it, which stays right when others remove
--             members in front of it
-- ARGV[6]  -> chunk size (positions read per call)
-- ARGV[7]  -> type filter: the bytes every message of the wanted type starts with (field 1,
--             written first by every encoder), or "" for all tasks
-- ARGV[8]  -> now, unix seconds (archive score)
-- ARGV[9]  -> now, unix nanoseconds (pending_since, so queue latency stays right)
-- ARGV[10] -> archive cutoff, unix seconds: archived tasks scored at or before it are dropped
-- ARGV[11] -> archive cap: the number of newest archived tasks kept at most
-- ARGV[12] -> group name when the source is a group, else ""; removed from KEYS[4] once empty
-- ARGV[13] -> wake channel, published to when tasks became pending
-- Returns: {changed, kept, read, last kept member or "", source size before the call}
-- Ids whose hash is gone are dropped from the source (not counted) unless a type filter is
-- set; a key that is not a hash is kept as it is. Dropped tasks (deleted, or trimmed off
-- the archive) lose their hash and the unique lock they hold.
local action, kind, prefix = ARGV[1], ARGV[2], ARGV[3]
local chunk, filter = tonumber(ARGV[6]), ARGV[7]
local TOMBSTONE = "\0qops:removed\0"

local function slices(list, fn)
    for s = 1, #list, 1000 do
        fn(unpack(list, s, math.min(s + 999, #list)))
    end
end

local function forget(id)
    local key = prefix .. id
    local lock = redis.pcall("HGET", key, "unique_key")
    if type(lock) == "string" and lock ~= "" and redis.pcall("GET", lock) == id then
        redis.call("DEL", lock)
    end
    redis.call("DEL", key)
end

-- Asynq's archive rules (90 days, newest 9999), without leaking the dropped hashes; at most
-- `limit` entries go per call so one call stays short.
local function trim_archive(limit)
    local n = math.max(redis.call("ZCOUNT", KEYS[3], "-inf", ARGV[10]),
        redis.call("ZCARD", KEYS[3]) - tonumber(ARGV[11]))
    n = math.min(n, limit)
    if n > 0 then
        for _, id in ipairs(redis.call("ZRANGE", KEYS[3], 0, n - 1)) do
            forget(id)
        end
        redis.call("ZREMRANGEBYRANK", KEYS[3], 0, n - 1)
    end
end

local size, start, ids
if kind == "list" then
    size = redis.call("LLEN", KEYS[1])
    start = tonumber(ARGV[4])
    ids = redis.call("LRANGE", KEYS[1], start, start + chunk - 1)
else
    size = redis.call("ZCARD", KEYS[1])
    start = tonumber(ARGV[4])
    if ARGV[5] ~= "" then
        local rank = redis.call("ZRANK", KEYS[1], ARGV[5])
        if rank then
            start = rank + 1
        end
    end
    ids = redis.call("ZRANGE", KEYS[1], start, start + chunk - 1)
end

local chosen, removed, kept, last_kept = {}, {}, 0, ""
for i, id in ipairs(ids) do
    local key = prefix .. id
    local fields = redis.pcall("HMGET", key, "state", "msg")
    local matches = false
    if not fields.err then
        local state, msg = fields[1], fields[2]
        if filter == "" then
            matches = true
            if not state and not msg and redis.call("EXISTS", key) == 0 then
                removed[#removed + 1] = i
                matches = nil
            end
        else
            matches = msg and string.sub(msg, 1, #filter) == filter
        end
    end
    if matches then
        chosen[#chosen + 1] = id
        removed[#removed + 1] = i
    elseif matches == false then
        kept, last_kept = kept + 1, id
    end
end

if kind == "zset" then
    local gone = {}
    for _, i in ipairs(removed) do
        gone[#gone + 1] = ids[i]
    end
    slices(gone, function(...) redis.call("ZREM", KEYS[1], ...) end)
elseif #removed == #ids and start == 0 then
    redis.call("LTRIM", KEYS[1], #ids, -1)
elseif #removed > 0 then
    -- A list cannot drop members by position; mark them, then remove the marks from the
    -- head, which costs O(start + chunk) instead of one scan per task.
    for _, i in ipairs(removed) do
        redis.call("LSET", KEYS[1], start + i - 1, TOMBSTONE)
    end
    redis.call("LREM", KEYS[1], #removed, TOMBSTONE)
end

if action == "run" then
    for _, id in ipairs(chosen) do
        redis.call("HSET", prefix .. id, "state", "pending", "pending_since", ARGV[9])
        -- Run on its own, a grouped task must not go back to its group if it is retried.
        redis.call("HDEL", prefix .. id, "group")
    end
    slices(chosen, function(...) redis.call("LPUSH", KEYS[2], ...) end)
    if #chosen > 0 then
        redis.call("PUBLISH", ARGV[13], #chosen)
    end
elseif action == "archive" then
    local members = {}
    for _, id in ipairs(chosen) do
        redis.call("HSET", prefix .. id, "state", "archived")
        members[#members + 1] = ARGV[8]
        members[#members + 1] = id
    end
    slices(members, function(...) redis.call("ZADD", KEYS[3], ...) end)
    trim_archive(2 * chunk)
else
    for _, id in ipairs(chosen) do
        forget(id)
    end
end

if ARGV[12] ~= "" and redis.call("EXISTS", KEYS[1]) == 0 then
    redis.call("SREM", KEYS[4], ARGV[12])
end
return {#chosen, kept, #ids, last_kept, size}
