"""The real app for tests, benchmarks and scripts: `python -m app` on a free local port, stopped afterwards.

Shared by tests/ (the server and browser tests, the install test), benchmarks/ (start-up, load, soak) and
scripts/screenshot.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "START_TIMEOUT_S", "AppServer", "free_port", "running_app", "stop"]

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """A running `python -m app`; its stdout and stderr go to `log_path`."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@contextlib.contextmanager
def running_app(
    timeout: float = START_TIMEOUT_S,
    extra_env: dict[str, str] | None = None,
    command: list[str] | None = None,
    cwd: Path | None = None,
) -> Iterator[AppServer]:
    """Start the app (default `python -m app`) on a free local port, wait until its root answers,
    and always stop it afterwards."""
    port = free_port()
    env = dict(
        os.environ,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    log_dir = Path(tempfile.mkdtemp(prefix="cnnlens-app-"))
    env["CNNLENS_DATA_DIR"] = str(log_dir / "data")  # each server its own files: one stopping removes only its own
    env.update(extra_env or {})
    log_path = log_dir / "server.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command or [sys.executable, "-m", "app"],
            cwd=cwd or ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = AppServer(url=f"http://127.0.0.1:{port}/", process=process, log_path=log_path)
    try:
        _wait_until_up(server, timeout)
        yield server
    finally:
        stop(process)
        shutil.rmtree(log_dir, ignore_errors=True)  # failures above already quote the log


def _wait_until_up(server: AppServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"`python -m app` exited with code {server.process.returncode}:\n{server.log()[-4000:]}")
        try:
            with urllib.request.urlopen(server.url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {server.url} within {timeout:.0f} s:\n{server.log()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
