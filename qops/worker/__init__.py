"""The worker: runs handlers for tasks taken from Redis, with Asynq's semantics.

`qops.worker.runtime.Worker` is the entry point; `qops.worker.handlers.Handlers` maps task
types to the functions that process them.
"""
