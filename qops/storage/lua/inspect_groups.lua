-- The groups of a queue with the number of tasks waiting in each.
-- KEYS[1] -> asynq:{q}:groups
-- ARGV[1] -> group key prefix asynq:{q}:g:
-- Returns: {name1, size1, name2, size2, ...} in SMEMBERS order; O(number of groups)
local result = {}
for _, name in ipairs(redis.call("SMEMBERS", KEYS[1])) do
    result[#result + 1] = name
    result[#result + 1] = redis.call("ZCARD", ARGV[1] .. name)
end
return result
