"""The task code each peer's worker loads, configured from ``BENCH_REDIS_URL`` as apps are."""
