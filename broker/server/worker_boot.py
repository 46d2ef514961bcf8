"""The end of a gunicorn worker's boot: what it made stays out of garbage collections, what it
freed goes back to the system."""

from __future__ import annotations

import contextlib
import ctypes
import gc


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
