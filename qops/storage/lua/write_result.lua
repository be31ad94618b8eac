-- Store a handler's result on its task, as Asynq's ResultWriter does, unless the task is gone
-- (a write retried after its task was already deleted must not leave a stray hash).
-- KEYS[1] -> asynq:{q}:t:<id>
-- ARGV[1] -> result bytes
-- Returns: 1 written, 0 no such task
if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
redis.call("HSET", KEYS[1], "result", ARGV[1])
return 1
