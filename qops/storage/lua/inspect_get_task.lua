-- One task hash with the score that says when it runs next (or when its lease ends).
-- KEYS[1] -> asynq:{q}:t:<id>
-- KEYS[2] -> asynq:{q}:scheduled
-- KEYS[3] -> asynq:{q}:retry
-- KEYS[4] -> asynq:{q}:lease
-- ARGV[1] -> task id
-- Returns: nil when the key does not exist; {0, type} when it is not a hash; else
--          {1, msg, state, result, score, since} where score is the scheduled or retry time,
--          or the lease expiry of an active task (false if none), and since the hash's
--          pending_since field (unix ns; false when absent)
local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "none" then
    return nil
end
if kind ~= "hash" then
    return {0, kind}
end
local fields = redis.call("HMGET", KEYS[1], "msg", "state", "result", "pending_since")
local state = fields[2]
local score = false
if state == "scheduled" then
    score = redis.call("ZSCORE", KEYS[2], ARGV[1])
elseif state == "retry" then
    score = redis.call("ZSCORE", KEYS[3], ARGV[1])
elseif state == "active" then
    score = redis.call("ZSCORE", KEYS[4], ARGV[1])
end
return {1, fields[1], state, fields[3], score, fields[4]}
