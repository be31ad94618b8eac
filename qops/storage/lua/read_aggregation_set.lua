-- Read the tasks of an aggregation set in the order they joined their group.
-- KEYS[1] -> asynq:{q}:g:<group>:<set id>
-- ARGV[1] -> task key prefix asynq:{q}:t:
-- Returns: the TaskMessage of each member; members whose hash is gone are left out
local out = {}
for _, id in ipairs(redis.call("ZRANGE", KEYS[1], 0, -1)) do
    local msg = redis.call("HGET", ARGV[1] .. id, "msg")
    if msg then
        out[#out + 1] = msg
    end
end
return out
