"""gunicorn settings, for the Procfile (Cloud Foundry) and `make run` (embedded local AWS) alike.

Settings, the broker's port and its AWS key are checked once in the master before any worker
starts, so a broker with missing or wrong settings refuses to start instead of failing on its
first request. With no AWS configuration and not on Cloud Foundry, the master starts the
embedded moto server (once, not per worker) and passes its address and the broker's key to the
workers through the environment. Every log line is a JSON object (broker/logs.py).
"""

from __future__ import annotations

import gc
import os
from typing import Any

from broker import metrics
from broker.logs import gunicorn_logconfig
from broker.startup import prepare_environment

_on_cf = "VCAP_APPLICATION" in os.environ
bind = f"{'0.0.0.0' if _on_cf else '127.0.0.1'}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A bind waits (bounded) for AWS to accept its new key, and emptying a big bucket takes time.
timeout = 120
accesslog = None
logconfig_dict = gunicorn_logconfig()
# gunicorn's control socket lives in $HOME; two brokers on one machine would share it.
control_socket_disable = True

_metrics_dir: str | None = None


def on_starting(server: Any) -> None:
    global _metrics_dir
    # The address gunicorn will really bind (a --bind on its command line wins over `bind` above).
    address = next((a for a in server.cfg.address if isinstance(a, tuple)), None)
    prepare_environment(os.environ, (address[0], address[1]) if address else None)
    # Made before any worker starts, so every worker writes its counts where a scrape of any one sums them.
    _metrics_dir = metrics.make_shared_dir(os.environ)


def post_worker_init(worker: Any) -> None:
    # The app's ~100k long-lived objects (boto3 models, the catalog) would otherwise be walked by
    # every full garbage collection, stalling all of a worker's threads for tens of milliseconds.
    gc.collect()
    gc.freeze()


def on_exit(server: Any) -> None:
    if _metrics_dir:
        metrics.remove_shared_dir(_metrics_dir)
