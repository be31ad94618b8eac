"""Prometheus metrics: the queue exporter behind ``qops metrics serve``.

`qops.metrics.queue_collector.QueueCollector` reads queues through the `Inspector` in a
bounded number of round trips; `qops.metrics.server.MetricsServer` serves a registry over HTTP.
Both import prometheus-client, so nothing here is loaded by ``import qops``.
"""
