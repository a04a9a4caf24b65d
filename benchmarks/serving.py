"""What the serving benchmarks share: start or reach the app, and read its resident memory.

`load.py`, `soak.py` and `hostile.py` run against `python -m app` started here (through
testkit.server.running_app) or an app already running at --url (give --pid to see memory).
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from testkit.server import running_app


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="an app already running (default: start `python -m app` here)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to read its memory")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the app started here (repeatable)",
    )


@contextlib.contextmanager
def server(args: argparse.Namespace) -> Iterator[tuple[str, int | None]]:
    """(url, pid) of the app under test."""
    if args.url:
        yield args.url, args.pid
        return
    extra = dict(item.split("=", 1) for item in args.env)
    extra.setdefault("CNNLENS_DEVICE", "cpu")
    with running_app(extra_env=extra) as app:
        yield app.url, app.process.pid


def serving_pid(pid: int) -> int:
    """The process that serves: `pid` itself, or its newest descendant if it started one (a re-exec
    keeps the pid; a wrapper such as `uv run` or a shell does not)."""
    while True:
        children = []
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children += [int(c) for c in task.read_text().split()]
        if not children:
            return pid
        pid = max(children)


def memory_mb(pid: int | None) -> tuple[float, float]:
    """(resident now, peak resident) of the serving process in MB; (nan, nan) when unknown."""
    if pid is None:
        return float("nan"), float("nan")
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{serving_pid(pid)}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.split()[0] if value.split() else "0"
    return int(fields.get("VmRSS", 0)) / 1024 or float("nan"), int(fields.get("VmHWM", 0)) / 1024 or float("nan")


class Sampler:
    """Calls `sample()` every `interval` seconds in a background thread while the `with` block runs."""

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class MemorySampler(Sampler):
    """Samples resident memory every `interval` seconds in the background; keeps the maximum."""

    def __init__(self, pid: int | None, interval: float = 0.25):
        super().__init__(interval)
        self.pid, self.peak = pid, 0.0

    def sample(self) -> None:
        rss, _ = memory_mb(self.pid)
        if rss == rss:
            self.peak = max(self.peak, rss)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]
