"""gunicorn settings, for the Procfile (Cloud Foundry) and `make run` (embedded local AWS) alike.

Settings are checked once in the master before any worker starts, so a broker with missing or
wrong settings refuses to start instead of failing on its first request. With no AWS
configuration and not on Cloud Foundry, the master starts the embedded moto server (once, not
per worker) and passes its address and the broker's key to the workers through the environment.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from broker.startup import prepare_environment

_on_cf = "VCAP_APPLICATION" in os.environ
bind = f"{'0.0.0.0' if _on_cf else '127.0.0.1'}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A bind waits (bounded) for AWS to accept its new key, and emptying a big bucket takes time.
timeout = 120
accesslog = None
# gunicorn's control socket lives in $HOME; two brokers on one machine would share it.
control_socket_disable = True


def on_starting(server: Any) -> None:
    prepare_environment(os.environ)


def post_worker_init(worker: Any) -> None:
    # The app's ~100k long-lived objects (boto3 models, the catalog) would otherwise be walked by
    # every full garbage collection, stalling all of a worker's threads for tens of milliseconds.
    gc.collect()
    gc.freeze()
