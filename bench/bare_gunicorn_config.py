"""gunicorn settings for bench/bare_app.py: the broker's server settings (broker/server/gunicorn_config.py)
without its start-up checks, embedded backend, JSON logging or metrics directory."""

from __future__ import annotations

import gc
import os
from typing import Any

bind = f"127.0.0.1:{os.environ.get('PORT', '8080')}"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 5
timeout = 120
accesslog = None
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    gc.collect()
    gc.freeze()
