"""Start-up as a Space sees it: `python app/__main__.py` in a fresh process until the first request is answered.

python -m benchmarks.bench_startup              # 3 launches, print the section
python -m benchmarks.bench_startup --write      # ... and replace its section in RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks._common import ROOT, machine, proc_peak_rss_mib  # noqa: E402
from benchmarks.results import publish  # noqa: E402

HEADING = "## Start-up as a Space"
TARGET_S = 15.0


def launch_once() -> dict:
    """Seconds from process start to the page answering, and to the first /predict answered."""
    from gradio_client import Client, handle_file

    from testkit.server import running_app

    started = time.perf_counter()
    with running_app(command=[sys.executable, "app/__main__.py"], extra_env={"CNNLENS_DEVICE": "cpu"}) as server:
        page = time.perf_counter() - started
        Client(server.url, verbose=False).predict(handle_file(str(ROOT / "examples" / "cat.png")), api_name="/predict")
        first = time.perf_counter() - started
        peak = proc_peak_rss_mib(server.process.pid)
    return {"page_s": page, "first_request_s": first, "peak_rss_mib": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    runs = [launch_once() for _ in range(args.times)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    text = "\n".join(
        [
            HEADING,
            "",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}",
            f"- Command: `python -m benchmarks.bench_startup --times {args.times} --write`; median of {args.times} "
            "fresh launches "
            "of `python app/__main__.py` (Spaces' app_file), examples not precomputed (`cache_examples=False`).",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| process start → page answers (GET /) | {median['page_s']:.1f} s |",
            f"| process start → first `/predict` answered | {median['first_request_s']:.1f} s (target < "
            f"{TARGET_S:.0f} s) |",
            f"| server peak RSS by then | {median['peak_rss_mib']:.0f} MiB |",
            "",
            "Each launch: " + "; ".join(f"{run['first_request_s']:.1f} s" for run in runs) + ".",
        ]
    )
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
