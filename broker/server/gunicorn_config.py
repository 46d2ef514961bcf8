"""gunicorn settings, for the Procfile (Cloud Foundry) and `make run` (embedded local AWS) alike.

Settings and the broker's port are checked once in the master before any worker starts, and
each worker checks the AWS key with STS as it builds the app (it needs the account id anyway),
so a broker with missing or wrong settings refuses to start instead of failing on its first
request: a worker that cannot boot makes gunicorn stop. With no AWS configuration and not on
Cloud Foundry, the master starts the embedded moto server (once, not per worker) and passes its
address and the broker's key to the workers through the environment. Every log line is a JSON object (broker/logs.py).
"""

from __future__ import annotations

import gc
import os
import signal
from typing import Any

from broker.deadlines import LONGER_THAN_ANY_REQUEST
from broker.http import metrics
from broker.logs import gunicorn_logconfig
from broker.server import worker_boot
from broker.server.startup import log_identity, prepare_environment
from broker.settings import aws_configured, on_cloud_foundry

# gevent must patch ssl before urllib3 (under boto3 and moto) is imported, or creating an SSL
# context in a worker recurses without end. The master imports them only when it starts the
# embedded moto (no AWS configured, not on Cloud Foundry), so then ssl is patched here, first.
# Only ssl: the master's moto must stay on real threads, which a fork leaves behind (greenlets
# would follow into every worker and split its state). Workers patch everything when they start.
# Pointed at AWS, the master imports neither boto3 nor moto (each worker checks the key itself).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
_local = not on_cloud_foundry(os.environ) and not aws_configured(os.environ)
if worker_class == "gevent" and _local:
    from gevent import monkey

    monkey.patch_ssl()

_on_cf = on_cloud_foundry(os.environ)
bind = f"{'0.0.0.0' if _on_cf else '127.0.0.1'}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gevent: a connection costs a greenlet, not a thread, so hundreds of slow or idle clients cannot
# take every worker's capacity (2x8 gthread threads fell to 40 header-trickling connections;
# `python -m bench.slow_clients` measures the set-ups). The AWS thread pool runs on greenlets too.
# 4,000 a worker, not gunicorn's 1,000: with 2,200 reconnecting slow clients (2x1,000 full) /health
# took up to 3.6 s and at 3,000 the catalog timed out 11 times in 20; with 2x4,000 it was 0.8 s, and
# 20 in 20 answered. A waiting connection costs a greenlet and a file descriptor, not a thread.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "4000"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))  # only with GUNICORN_WORKER_CLASS=gthread
# The gevent worker gives a connection this long to send a request's headers (and closes idle
# keep-alive connections after it): the header deadline. Bodies have their own (BODY_DEADLINE).
# A stopping worker waits for its idle keep-alive connections up to this long, so tests set it short.
KEEPALIVE = 5
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", str(KEEPALIVE)))
# A bind waits (bounded) for AWS to accept its new key, and emptying a big bucket takes time.
timeout = int(LONGER_THAN_ANY_REQUEST)
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


def post_fork(server: Any, worker: Any) -> None:
    # A worker's boot makes ~100k objects that live as long as it does (modules, botocore models,
    # the catalog): collecting while they are made only walks them again and again (tens of ms of
    # start). worker_boot.settle() freezes them and turns collections back on once the app is built.
    gc.disable()
    # Until gunicorn gives the worker its own signal handlers it has the master's, which only queue
    # a signal for a master that is not there: a Ctrl-C or a stop in those first moments was lost,
    # and the master waited its graceful_timeout (30 s) before killing the worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master turns Ctrl-C into a SIGQUIT
    signal.signal(signal.SIGQUIT, worker_boot.stop_booting)
    signal.signal(signal.SIGTERM, worker_boot.stop_booting)


def post_worker_init(worker: Any) -> None:
    # The account and identity the key belongs to, once per server: by its first worker (age 1).
    identity = getattr(worker.wsgi, "extensions", {}).get("s3_broker.identity")
    if identity and worker.age == 1:
        log_identity(identity)
    worker_boot.settle()
    # Ctrl-C on `make run` signals the whole process group; the master already turns it into a
    # SIGQUIT for each worker, and a worker's own SIGINT would be a second quit, handled while the
    # interpreter shuts down (a SystemExit traceback per worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_exit(server: Any, worker: Any) -> None:
    worker_boot.exit_now()


def on_exit(server: Any) -> None:
    if _metrics_dir:
        metrics.remove_shared_dir(_metrics_dir)
