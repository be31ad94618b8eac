"""`MetricsServer`: a small threaded HTTP server that exposes a registry on ``/metrics``.

It always answers in the Prometheus text format (version 0.0.4), which is what Asynq's Go
exporter serves, so scrapers and dashboards see the same series either way.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

_INDEX = b"qops metrics exporter: Prometheus metrics are on /metrics\n"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A client that connects and sends nothing must not hold a thread for long.
    timeout = 10

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self.server.registry))
        elif path == "/":
            self._reply(200, "text/plain; charset=utf-8", _INDEX)
        else:
            self._reply(404, "text/plain; charset=utf-8", b"not found; metrics are on /metrics\n")

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # One line per scrape would drown the lines that matter (Redis down, recovered).
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry) -> None:
        self.registry = registry
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)


class MetricsServer:
    """Serves ``registry`` on ``http://bind:port/metrics``, one thread per request.

    Args:
        registry: What ``/metrics`` shows.
        bind: Address to listen on; loopback by default, so nothing is exposed by accident.
        port: TCP port; 0 picks a free one (see `port`).

    Raises:
        OSError: the address cannot be bound (port in use, address not local).
    """

    def __init__(self, registry: CollectorRegistry, bind: str = "127.0.0.1", port: int = 0):
        self._httpd = _Server((bind, port), registry)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> None:
        """Serve from a background thread until `shutdown`."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="qops-metrics-http",
            daemon=True,
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
