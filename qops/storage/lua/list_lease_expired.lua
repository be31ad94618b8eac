-- List active tasks of one queue whose lease ran out, oldest lease first.
-- KEYS[1] -> asynq:{q}:lease
-- ARGV[1] -> cutoff, unix seconds: leases scored at or before it have expired
-- ARGV[2] -> task key prefix asynq:{q}:t:
-- ARGV[3] -> most entries to list
-- Returns: a flat list id1, msg1, id2, msg2, ...; msg is "" when the task hash is gone
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
    out[#out + 1] = id
    out[#out + 1] = redis.call("HGET", ARGV[2] .. id, "msg") or ""
end
return out
