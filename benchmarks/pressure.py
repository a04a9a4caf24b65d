"""Pressure (issue 21): what one visitor can make the server do, through its own endpoints.

    python -m benchmarks.pressure                      # starts `python -m app` with a 20 s request budget
    python -m benchmarks.pressure --env CNNLENS_REQUEST_BUDGET=60 --heavy-seconds 60

Prints, in one run on one server:
  1. each heavy request at the API's maximum parameters: seconds (against the request budget), whether it
     was stopped with its sentence, and the server's peak resident memory above the settled server;
  2. a cancelled heavy compare: how soon a /gradcam on the same backbone is answered after the cancel,
     against that /gradcam on an idle server;
  3. a cheap visitor under heavy ones: /gradcam p95 while 4 clients loop heavy requests, as a ratio to its
     idle p95.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import threading
import time

from benchmarks._common import ROOT
from benchmarks.serving import MemorySampler, add_server_arguments, memory_mb, percentile, server
from registry import settings  # noqa: E402  (serving puts the repository on the path)
from testkit.api import explain, tab_event  # noqa: E402

CAT = ROOT / "examples" / "cat.png"
LITE0 = "tf_efficientnet_lite0"
HEAVY_METHODS = ["smoothgrad", "gradient_shap", "integrated_gradients", "scorecam"]
CLASSES = ["predicted (top-1)", "285: Egyptian cat", "281: tabby, tabby cat"]
# Each looping method at the largest values its parameters accept (plugins' Param maxima).
AT_MAXIMUM = {
    "smoothgrad": {"samples": 200, "batch_size": 16},
    "gradient_shap": {"samples": 200, "batch_size": 16},
    "integrated_gradients": {"steps": 300, "internal_batch_size": 16},
    "scorecam": {"channels": 4096, "batch_size": 64},
    "occlusion": {"window": 4, "stride": 2, "batch_size": 64},
}


def image():
    from gradio_client import handle_file

    return handle_file(str(CAT))


def compare_args() -> list:
    return [image(), [LITE0], HEAVY_METHODS, CLASSES, ["default"], False, True, False]


def timed(call) -> tuple[float, str]:
    """(seconds, "ok" or the error's first words)."""
    began = time.perf_counter()
    try:
        call()
        outcome = "ok"
    except Exception as exc:  # a refusal or a stop is the outcome measured
        outcome = str(exc).splitlines()[0][:110]
    return time.perf_counter() - began, outcome


def gradcam(client) -> float:
    seconds, outcome = timed(lambda: client.predict(*tab_event("gradcam", image())[0], api_name="/gradcam"))
    if outcome != "ok":
        raise RuntimeError(f"/gradcam failed: {outcome}")
    return seconds


def maximum_parameters(client, pid) -> None:
    print(
        "\n1. Heavy requests at maximum parameters (request budget "
        f"{settings.value('CNNLENS_REQUEST_BUDGET'):g} s here, unless --env sets another)"
    )
    print(f"{'request':<28} {'seconds':>8} {'peak MB over settled':>21}  outcome")
    cases = {
        f"/{name}": (lambda n=name: client.predict(**explain(n, image=image(), **AT_MAXIMUM[n]))) for name in AT_MAXIMUM
    }
    cases["/compare (12 heavy cells)"] = lambda: client.predict(*compare_args(), api_name="/compare")
    for name, call in cases.items():
        settled, _ = memory_mb(pid)
        with MemorySampler(pid, interval=0.1) as sampler:
            seconds, outcome = timed(call)
        print(f"{name:<28} {seconds:8.1f} {sampler.peak - settled:21.0f}  {outcome}")


def small_heavy(client) -> float:
    """A Score-CAM of 16 channels: a short request in the heavy lane (which a running heavy one holds)."""
    seconds, outcome = timed(lambda: client.predict(**explain("scorecam", image=image(), channels=16, batch_size=16)))
    if outcome != "ok":
        raise RuntimeError(f"/scorecam failed: {outcome}")
    return seconds


def cancelled(client) -> None:
    """Heavy requests share one lane: the next one starts at once only if the cancelled one really stopped."""
    idle = statistics.median(small_heavy(client) for _ in range(3))
    job = client.submit(*compare_args(), api_name="/compare")
    time.sleep(3)
    job.cancel()
    after = small_heavy(client)
    print(
        f"\n2. Cancel: the next heavy request (/scorecam, 16 channels) answered in {after:.2f} s after a running "
        f"compare was cancelled (idle: {idle:.2f} s; ratio {after / idle:.1f}×)"
    )


def starved(url: str, client, seconds: float, idle_p95: float) -> None:
    from gradio_client import Client

    stop = time.monotonic() + seconds
    heavy_done: list[float] = []
    step_seconds: list[float] = []  # a stopped request's seconds over the steps it finished

    def heavy_loop() -> None:
        mine = Client(url, verbose=False)
        while time.monotonic() < stop:
            took, outcome = timed(lambda: mine.predict(**explain("scorecam", image=image(), **AT_MAXIMUM["scorecam"])))
            heavy_done.append(took)
            steps = re.search(r"after (\d+) of", outcome)
            if steps:
                step_seconds.append(took / int(steps.group(1)))

    threads = [threading.Thread(target=heavy_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    cheap = []
    while time.monotonic() < stop:
        cheap.append(gradcam(client))
    for thread in threads:
        thread.join()
    p95 = percentile(cheap, 95)
    step = statistics.median(step_seconds) if step_seconds else float("nan")
    allowed = 2 * idle_p95 + step
    print(
        f"\n3. Cheap under heavy: /gradcam p95 {p95:.2f} s with 4 clients looping /scorecam at its maximum "
        f"(idle p95 {idle_p95:.2f} s, ratio {p95 / idle_p95:.1f}×; one heavy step {step:.3f} s; target "
        f"2 × idle p95 + one step = {allowed:.2f} s: {'met' if p95 <= allowed else 'NOT met'}; "
        f"{len(cheap)} cheap, {len(heavy_done)} heavy requests, median heavy {statistics.median(heavy_done):.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy-seconds", type=float, default=40, help="how long the heavy clients run (part 3)")
    add_server_arguments(parser)
    args = parser.parse_args()
    if not any(item.startswith("CNNLENS_REQUEST_BUDGET=") for item in args.env):
        args.env.append("CNNLENS_REQUEST_BUDGET=20")
    os.environ.update(item.split("=", 1) for item in args.env)  # only to print the budget in use
    from gradio_client import Client

    with server(args) as (url, pid):
        client = Client(url, verbose=False)
        gradcam(client)  # warm-up: the model and the first-call costs
        idle = [gradcam(client) for _ in range(8)]
        print(f"idle /gradcam: p50 {percentile(idle, 50):.2f} s, p95 {percentile(idle, 95):.2f} s")
        maximum_parameters(client, pid)
        cancelled(client)
        starved(url, client, args.heavy_seconds, percentile(idle, 95))


if __name__ == "__main__":
    main()
