"""Load test: N concurrent gradio_client clients send one request for M seconds; every error counts.

    python -m benchmarks.load --clients 8 --seconds 60             # starts `python -m app` itself
    python -m benchmarks.load --url http://127.0.0.1:7860/ --pid 1234

Prints throughput, latency p50/p95/max, errors (must be 0) and the server's resident memory
(sampled, and its kernel-reported peak). Each call downloads its result pictures, as a user's
browser does, so a result file rewritten under a download shows up as an error.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter

from benchmarks._common import ROOT
from benchmarks.serving import MemorySampler, add_server_arguments, memory_mb, percentile, server
from testkit.api import tab_event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--endpoint", default="gradcam")
    parser.add_argument("--image", default=str(ROOT / "examples" / "cat.png"))
    add_server_arguments(parser)
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    with server(args) as (url, pid):
        call, keywords = tab_event(args.endpoint, handle_file(args.image))  # the page's Run, in its method's lane
        Client(url, verbose=False).predict(*call, **keywords)  # warm-up
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def client_loop() -> None:
            client = Client(url, verbose=False)
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    main_path, gallery, *_ = client.predict(*call, **keywords)
                    if not main_path or not gallery:
                        raise RuntimeError("empty result")
                except Exception as exc:  # every failure a user would see
                    with lock:
                        errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)

        before, _ = memory_mb(pid)
        started = time.perf_counter()
        with MemorySampler(pid) as sampler:
            threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        elapsed = time.perf_counter() - started
        after, hwm = memory_mb(pid)

    total = len(latencies) + sum(errors.values())
    print(f"clients {args.clients}, {args.seconds:.0f} s, /{args.endpoint}, image {args.image.rsplit('/', 1)[-1]}")
    print(
        f"requests {total}, ok {len(latencies)}, errors {sum(errors.values())}, throughput "
        f"{len(latencies) / elapsed:.2f} req/s"
    )
    print(
        f"latency s: p50 {percentile(latencies, 50):.2f}, p95 {percentile(latencies, 95):.2f}, max "
        f"{max(latencies, default=float('nan')):.2f}"
    )
    print(
        f"server RSS MB: before {before:.0f}, sampled peak {sampler.peak:.0f}, after {after:.0f}, kernel peak (VmHWM) "
        f"{hwm:.0f}"
    )
    for message, count in errors.most_common():
        print(f"  {count} x {message}")


if __name__ == "__main__":
    main()
