-- Everything the queue overview shows, in one call whose cost does not grow with the queue.
-- KEYS[1]  -> asynq:{q}:pending
-- KEYS[2]  -> asynq:{q}:active
-- KEYS[3]  -> asynq:{q}:scheduled
-- KEYS[4]  -> asynq:{q}:retry
-- KEYS[5]  -> asynq:{q}:archived
-- KEYS[6]  -> asynq:{q}:completed
-- KEYS[7]  -> asynq:{q}:processed:<today UTC>
-- KEYS[8]  -> asynq:{q}:failed:<today UTC>
-- KEYS[9]  -> asynq:{q}:processed
-- KEYS[10] -> asynq:{q}:failed
-- KEYS[11] -> asynq:{q}:paused
-- KEYS[12] -> asynq:{q}:groups
-- ARGV[1]  -> task key prefix asynq:{q}:t:
-- ARGV[2]  -> group key prefix asynq:{q}:g:
-- ARGV[3]  -> most groups whose sizes are read; past it the aggregating count is
--             extrapolated from that many random groups
-- ARGV[4]  -> task hashes sampled per container for the memory estimate
-- ARGV[5]  -> groups sampled for the memory estimate
-- Returns: {pending, active, scheduled, retry, archived, completed, processed today,
--           failed today, processed total, failed total, paused (0/1),
--           pending_since of the oldest pending task ("" if none), groups, aggregating,
--           memory bytes, score of the earliest scheduled task ("" if none), score of the
--           earliest retry task ("" if none)}. Counters come back as stored (strings, false when missing);
--           a key of the wrong type reads as empty instead of failing the call.

local function try(...)
    local reply = redis.pcall(...)
    if type(reply) == "table" and reply.err then
        return false
    end
    return reply
end

local function num(reply)
    return tonumber(reply) or 0
end

local sample = tonumber(ARGV[4])
local memory = 0

-- Average size of a few task hashes times the count, plus the container itself.
local function container_memory(key, ids, count)
    if type(ids) == "table" and #ids > 0 then
        local total, seen = 0, 0
        for _, id in ipairs(ids) do
            local bytes = try("MEMORY", "USAGE", ARGV[1] .. id)
            if bytes then
                total, seen = total + bytes, seen + 1
            end
        end
        if seen > 0 then
            memory = memory + total / seen * count
        end
    end
    memory = memory + num(try("MEMORY", "USAGE", key))
end

local counts = {}
for i = 1, 2 do
    counts[i] = num(try("LLEN", KEYS[i]))
    container_memory(KEYS[i], try("LRANGE", KEYS[i], 0, sample - 1), counts[i])
end
for i = 3, 6 do
    counts[i] = num(try("ZCARD", KEYS[i]))
    container_memory(KEYS[i], try("ZRANGE", KEYS[i], 0, sample - 1), counts[i])
end

-- The earliest entry's score (unix seconds it is due), "" for an empty set.
local function earliest(key)
    local first = try("ZRANGE", key, 0, 0, "WITHSCORES")
    if type(first) == "table" and first[2] then
        return first[2]
    end
    return ""
end

local oldest = ""
local head = try("LINDEX", KEYS[1], -1)
if head then
    oldest = try("HGET", ARGV[1] .. head, "pending_since") or ""
end

-- Reading every group is O(groups) (Asynq's issue #1160); past the limit a random sample
-- of groups stands for all of them.
local group_count = num(try("SCARD", KEYS[12]))
local limit = tonumber(ARGV[3])
local names
if group_count <= limit then
    names = try("SMEMBERS", KEYS[12])
else
    names = try("SRANDMEMBER", KEYS[12], limit)
end
if type(names) ~= "table" then
    names = {}
end
local aggregating = 0
for _, name in ipairs(names) do
    aggregating = aggregating + num(try("ZCARD", ARGV[2] .. name))
end
if #names > 0 and #names < group_count then
    aggregating = math.floor(aggregating * group_count / #names + 0.5)
end
local group_ids = {}
for i = 1, math.min(#names, tonumber(ARGV[5])) do
    local ids = try("ZRANGE", ARGV[2] .. names[i], 0, sample - 1)
    if type(ids) == "table" then
        for _, id in ipairs(ids) do
            group_ids[#group_ids + 1] = id
        end
    end
end
container_memory(KEYS[12], group_ids, aggregating)

return {
    counts[1], counts[2], counts[3], counts[4], counts[5], counts[6],
    try("GET", KEYS[7]), try("GET", KEYS[8]), try("GET", KEYS[9]), try("GET", KEYS[10]),
    num(try("EXISTS", KEYS[11])), oldest, group_count, aggregating, math.floor(memory),
    earliest(KEYS[3]), earliest(KEYS[4]),
}
