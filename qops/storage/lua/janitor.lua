-- Delete completed tasks of one queue whose retention is over, at most ARGV[3] per call.
-- KEYS[1] -> asynq:{q}:completed (score: when the retention ends, unix seconds)
-- ARGV[1] -> now, unix seconds
-- ARGV[2] -> task key prefix asynq:{q}:t:
-- ARGV[3] -> most tasks to delete
-- Returns: the number of tasks deleted
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[2] .. id)
    redis.call("ZREM", KEYS[1], id)
end
return #ids
