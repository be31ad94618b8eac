-- Run, archive or delete one task, taking it out of whichever container its state names.
-- KEYS[1] -> asynq:{q}:t:<id>
-- KEYS[2] -> asynq:{q}:pending
-- KEYS[3] -> asynq:{q}:scheduled
-- KEYS[4] -> asynq:{q}:retry
-- KEYS[5] -> asynq:{q}:archived
-- KEYS[6] -> asynq:{q}:completed
-- KEYS[7] -> asynq:{q}:groups
-- ARGV[1] -> "run", "archive" or "delete"
-- ARGV[2] -> task id
-- ARGV[3] -> task key prefix asynq:{q}:t:
-- ARGV[4] -> group key prefix asynq:{q}:g:
-- ARGV[5] -> now, unix seconds (archive score)
-- ARGV[6] -> now, unix nanoseconds (pending_since)
-- ARGV[7] -> archive cutoff, unix seconds: archived tasks scored at or before it are dropped
-- ARGV[8] -> archive cap: the number of newest archived tasks kept at most
-- ARGV[9] -> wake channel, published to when the task became pending
-- Returns: {1, state} done; {0, ""} no such task; {-1, state} not allowed in that state
-- Unlike Asynq: run sets pending_since, drops the group field and wakes idle workers,
-- archive deletes the hashes of the tasks it trims off the archive, delete frees the task's
-- unique lock.
local action, id, prefix = ARGV[1], ARGV[2], ARGV[3]
local ALLOWED = {
    run = {scheduled = 3, retry = 4, archived = 5, completed = 6, aggregating = 0},
    archive = {pending = 2, scheduled = 3, retry = 4, completed = 6, aggregating = 0},
    delete = {pending = 2, scheduled = 3, retry = 4, archived = 5, completed = 6,
        aggregating = 0},
}

local function forget(task_id)
    local key = prefix .. task_id
    local lock = redis.pcall("HGET", key, "unique_key")
    if type(lock) == "string" and lock ~= "" and redis.pcall("GET", lock) == task_id then
        redis.call("DEL", lock)
    end
    redis.call("DEL", key)
end

if redis.call("TYPE", KEYS[1])["ok"] ~= "hash" then
    return {0, ""}
end
local state, group = unpack(redis.call("HMGET", KEYS[1], "state", "group"))
local container = state and ALLOWED[action][state]
if not container then
    return {-1, state or ""}
end

if container == 2 then
    redis.call("LREM", KEYS[2], 1, id)
elseif container > 2 then
    redis.call("ZREM", KEYS[container], id)
elseif group then
    local group_key = ARGV[4] .. group
    redis.call("ZREM", group_key, id)
    if redis.call("EXISTS", group_key) == 0 then
        redis.call("SREM", KEYS[7], group)
    end
end

if action == "run" then
    redis.call("HSET", KEYS[1], "state", "pending", "pending_since", ARGV[6])
    -- Run on its own, a grouped task must not go back to its group if it is retried.
    redis.call("HDEL", KEYS[1], "group")
    redis.call("LPUSH", KEYS[2], id)
    redis.call("PUBLISH", ARGV[9], 1)
elseif action == "archive" then
    redis.call("ZADD", KEYS[5], ARGV[5], id)
    redis.call("HSET", KEYS[1], "state", "archived")
    -- Asynq's rules (90 days, newest 9999), also deleting the hashes it drops; at most 1000
    -- go per call so an archive far over the cap shrinks without one long block.
    local n = math.max(redis.call("ZCOUNT", KEYS[5], "-inf", ARGV[7]),
        redis.call("ZCARD", KEYS[5]) - tonumber(ARGV[8]))
    n = math.min(n, 1000)
    if n > 0 then
        for _, old in ipairs(redis.call("ZRANGE", KEYS[5], 0, n - 1)) do
            forget(old)
        end
        redis.call("ZREMRANGEBYRANK", KEYS[5], 0, n - 1)
    end
else
    forget(id)
end
return {1, state}
