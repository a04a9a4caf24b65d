"""Start-up as a Space sees it: `python app/__main__.py` in a fresh process until the first request is answered, and
the page as a visitor's browser starts it (Debian's chromium, where installed): how many components and events the
page holds, and the seconds from opening it to the image input showing (Gradio's front end builds the page from
its configuration, in time that grows faster than the number of components).

python -m benchmarks.bench_startup              # 3 launches, print the section
python -m benchmarks.bench_startup --write      # ... and replace its section in RESULTS.md
python -m benchmarks.bench_startup --root /tmp/old --times 3   # another checkout's app (a git worktree), to compare
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks._common import ROOT, machine, proc_peak_rss_mib  # noqa: E402
from benchmarks.results import publish  # noqa: E402

HEADING = "## Start-up as a Space"
TARGET_S = 15.0


def launch_once(root: Path = ROOT) -> dict:
    """Seconds from process start to the page answering, and to the first /predict answered; then, with a browser,
    the page's components and events and the seconds Chromium takes to show it."""
    from gradio_client import Client, handle_file

    from testkit.server import running_app

    started = time.perf_counter()
    command = [sys.executable, "app/__main__.py"]
    with running_app(command=command, extra_env={"CNNLENS_DEVICE": "cpu"}, cwd=root) as server:
        page = time.perf_counter() - started
        client = Client(server.url, verbose=False)
        client.predict(handle_file(str(ROOT / "examples" / "cat.png")), api_name="/predict")
        first = time.perf_counter() - started
        peak = proc_peak_rss_mib(server.process.pid)
        found = {"page_s": page, "first_request_s": first, "peak_rss_mib": peak}
        found["components"], found["events"] = len(client.config["components"]), len(client.config["dependencies"])
        shown = browser_seconds(server.url)
        if shown is not None:
            found["browser_s"] = shown
    return found


def browser_seconds(url: str) -> float | None:
    """Seconds from opening the page in headless Chromium to its image input showing; None without chromium."""
    from testkit.browser import chromium_path, launch_chromium

    if chromium_path() is None:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            started = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.locator("#input-image").wait_for(state="visible", timeout=120_000)
            return time.perf_counter() - started
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app to launch (default: this one)")
    args = parser.parse_args()
    runs = [launch_once(args.root) for _ in range(args.times)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    browser = (
        [
            f"| the page's components / events | {median['components']:.0f} / {median['events']:.0f} |",
            f"| Chromium: page opened → image input shown | {median['browser_s']:.1f} s |",
        ]
        if "browser_s" in median
        else []
    )
    text = "\n".join(
        [
            HEADING,
            "",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}",
            f"- Command: `python -m benchmarks.bench_startup --times {args.times} --write`"
            + (f" (`--root {args.root}`)" if args.root != ROOT else "")
            + f"; median of {args.times} "
            "fresh launches "
            "of `python app/__main__.py` (Spaces' app_file), examples not precomputed (`cache_examples=False`).",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| process start → page answers (GET /) | {median['page_s']:.1f} s |",
            f"| process start → first `/predict` answered | {median['first_request_s']:.1f} s (target < "
            f"{TARGET_S:.0f} s) |",
            f"| server peak RSS by then | {median['peak_rss_mib']:.0f} MiB |",
            *browser,
            "",
            "Each launch: " + "; ".join(f"{run['first_request_s']:.1f} s" for run in runs) + ".",
        ]
    )
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
