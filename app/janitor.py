"""The server's housekeeping: every folder it writes is swept to its bounds now and then (registry/storage), and
its own folders go when it stops.

Sweeps also run after writes (a result folder, a model upload, a channel picture), but a lifetime must end even
when nothing is written: a script's uploads over plain HTTP, say, where no page ever closes a session. So a thread
sweeps every `interval` seconds (half the shortest lifetime, at most a minute). On SIGTERM or a normal exit the
uploaded models, the result files and Gradio's cache (when it lies in the data folder, where the server put it)
are removed; the channel-picture cache stays, bounded, for the next start.
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
from pathlib import Path

from app import own_models, results
from registry import settings, storage

__all__ = ["interval", "remove_own_folders", "start", "sweep_all"]

LOG = logging.getLogger("cnnlens")


def interval() -> float:
    """Seconds between sweeps: half the shortest lifetime, at most 60."""
    shortest = min(settings.value("CNNLENS_FILES_TTL"), settings.value("CNNLENS_MODEL_UPLOADS_TTL"))
    return max(0.5, min(60.0, shortest / 2))


def sweep_all() -> None:
    """One sweep of every bounded folder the server writes; a failure is logged, never raised."""
    try:
        results.served_files().sweep()
        own_models.expire()
    except Exception:  # housekeeping must never take the server down
        LOG.exception("sweeping the data folder failed")


def start() -> threading.Thread:
    """Sweep in the background for as long as the process lives, and clean up when it stops."""
    thread = threading.Thread(target=_loop, name="cnnlens-janitor", daemon=True)
    thread.start()
    atexit.register(remove_own_folders)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)  # Python's default for SIGTERM skips atexit
    return thread


def remove_own_folders() -> None:
    """Remove what only this server uses: uploaded models and, if it lies in the data folder, Gradio's cache (the
    visitors' images and every result file); else just the result files."""
    own_models.uploads_folder().clear()
    cache = Path(results.served_files().path)
    if storage.data_folder() in cache.parents:
        storage.Bounded(cache).clear()
    else:
        storage.Bounded(cache / results.FOLDER).clear()


def _loop() -> None:
    stop = threading.Event()
    while not stop.wait(interval()):
        sweep_all()


def _stop(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)  # raises SystemExit in the main thread: atexit handlers run
