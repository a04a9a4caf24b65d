"""Debian's headless Chromium through Playwright, for the browser tests, the benchmarks and the screenshots (never a
Playwright-downloaded browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "chromium_path", "launch_chromium"]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str | None:
    """The system Chromium, or None where it is not installed."""
    return shutil.which("chromium")


def launch_chromium(playwright, executable: str | None = None, camera: Path | None = None):
    """Headless system Chromium through Playwright's sync API; with `camera` (a Y4M clip, testkit/clips.py) its fake
    webcam plays that clip, allowed without asking."""
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        args.append(f"--use-file-for-fake-video-capture={camera}")
    return playwright.chromium.launch(executable_path=executable or chromium_path(), headless=True, args=args)
