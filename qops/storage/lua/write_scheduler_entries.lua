-- Replace the entries one scheduler publishes, and let them expire unless written again.
-- KEYS[1]   -> asynq:schedulers:{<scheduler id>}
-- ARGV[1]   -> time to live, whole seconds
-- ARGV[2..] -> encoded SchedulerEntry messages, pushed on the left as Asynq does
-- Returns: 1
redis.call("DEL", KEYS[1])
for i = 2, #ARGV do
    redis.call("LPUSH", KEYS[1], ARGV[i])
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return 1
