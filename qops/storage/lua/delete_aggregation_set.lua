-- Delete an aggregation set whose aggregated task is enqueued, with the tasks it held.
-- KEYS[1] -> asynq:{q}:g:<group>:<set id>
-- KEYS[2] -> asynq:{q}:aggregation_sets
-- ARGV[1] -> task key prefix asynq:{q}:t:
-- Returns: the number of task hashes deleted
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
local deleted = 0
for _, id in ipairs(ids) do
    deleted = deleted + redis.call("DEL", ARGV[1] .. id)
end
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], KEYS[1])
return deleted
