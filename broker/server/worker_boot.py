"""The end of a gunicorn worker's boot: what it made stays out of garbage collections, what it
freed goes back to the system. And the end of a worker: quiet, with gunicorn's exit status."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import sys
from typing import NoReturn


def settle() -> None:
    """Freeze the boot's objects, re-enable collections (gunicorn_config disables them at fork), trim the heap."""
    # The app's ~100k long-lived objects (modules, botocore models, the catalog) would otherwise be
    # walked by every full collection, stalling all of a worker's requests for tens of milliseconds.
    # No collection first: it cost ~80 ms of every start and finds only ~1,500 objects of garbage
    # (cycles left by the boot), which stay frozen: a few hundred KiB at most, once per worker.
    gc.freeze()
    gc.enable()
    return_free_memory()


def return_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim).

    glibc keeps what the boot freed (botocore's full endpoint table, parse buffers: a few MiB) in
    the process, counted in its resident size. Other C libraries have no such call: nothing to do.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # the symbols already loaded: the process's C library


def stop_booting(signum: int, frame: object) -> NoReturn:
    """A stop before the worker serves: nothing to finish, so end at once (quietly, status 0)."""
    os._exit(0)


def exit_now() -> NoReturn:
    """End the worker with the status gunicorn's SystemExit carries, skipping the interpreter's teardown.

    Called from gunicorn's worker_exit hook, while that SystemExit is being raised. Under gevent the
    teardown clears gevent's modules before logging's handler references die, and each dying one
    then prints a traceback (two per worker on every stop, Ctrl-C or SIGTERM alike). The logs are
    flushed first; nothing else a worker registers needs the teardown.
    """
    status = exit_status(sys.exc_info()[1])
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def exit_status(raised: BaseException | None) -> int:
    """The process status a SystemExit gives (gunicorn's master reads 3 and 4 as boot failures)."""
    if not isinstance(raised, SystemExit) or raised.code is None:
        return 0 if raised is None or isinstance(raised, SystemExit) else 1
    return raised.code & 0xFF if isinstance(raised.code, int) else 1
