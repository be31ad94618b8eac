-- Put the tasks of aggregation sets whose deadline passed back into their groups, with the
-- scores they had there, so a later aggregation picks them up again.
-- KEYS[1] -> asynq:{q}:aggregation_sets (member: set key, score: deadline, unix seconds)
-- KEYS[2] -> asynq:{q}:groups
-- ARGV[1] -> now, unix seconds
-- ARGV[2] -> group key prefix asynq:{q}:g:
-- Returns: the number of sets reclaimed
local stale = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
local prefix = ARGV[2]
for _, set_key in ipairs(stale) do
    -- A set key is the group key plus ":<set id>"; set ids hold no colon, group names may.
    local group_key = string.match(set_key, "^(.*):[^:]*$")
    if group_key and string.sub(group_key, 1, #prefix) == prefix then
        local members = redis.call("ZRANGE", set_key, 0, -1, "WITHSCORES")
        for i = 1, #members, 2 do
            redis.call("ZADD", group_key, members[i + 1], members[i])
        end
        if #members > 0 then
            -- Asynq leaves the name out, so its aggregator never sees the reclaimed tasks.
            redis.call("SADD", KEYS[2], string.sub(group_key, #prefix + 1))
        end
        redis.call("DEL", set_key)
    end
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
return #stale
