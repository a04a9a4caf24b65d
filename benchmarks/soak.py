"""Soak: 300 sequential requests across plugins and backbones, with model-cache eviction.

    python -m benchmarks.soak                       # starts the app with CNNLENS_MAX_MODELS=2
    python -m benchmarks.soak --requests 300 --every 10

The three offline backbones (tf_efficientnet_lite0/1/2) take turns every `--every` requests while
the cache holds two, so models are evicted and reloaded throughout. Prints the server's resident
memory at requests 20, 100, 200 and 300, and how far the end is from the settled level (at 100).
"""

from __future__ import annotations

import argparse
import itertools
import time

from benchmarks._common import ROOT
from benchmarks.serving import add_server_arguments, memory_mb, server
from testkit.api import explain

BACKBONES = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
PLUGINS = ("gradcam", "saliency", "feature_maps")
CHECKPOINTS = (20, 100, 200, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--every", type=int, default=10, help="requests before switching backbone")
    add_server_arguments(parser)
    args = parser.parse_args()
    if not args.url and not any(item.startswith(("CNNLENS_MAX_MODELS=", "CNNLENS_MAX_MODEL_MB=")) for item in args.env):
        args.env.append("CNNLENS_MAX_MODELS=2")
    from gradio_client import Client, handle_file

    images = [p for p in sorted((ROOT / "examples").iterdir()) if p.suffix in (".png", ".jpg")]
    with server(args) as (url, pid):
        client = Client(url, verbose=False)
        errors, seen, started = 0, {}, time.perf_counter()
        plugin_cycle, image_cycle = itertools.cycle(PLUGINS), itertools.cycle(images)
        for number in range(1, args.requests + 1):
            backbone = BACKBONES[(number - 1) // args.every % len(BACKBONES)]
            try:
                client.predict(
                    **explain(next(plugin_cycle), image=handle_file(str(next(image_cycle))), backbone=backbone)
                )
            except Exception as exc:
                errors += 1
                print(f"  request {number} failed: {type(exc).__name__}: {str(exc)[:120]}")
            if number in CHECKPOINTS or number == args.requests:
                seen[number] = memory_mb(pid)[0]
                print(f"after {number:3d} requests: RSS {seen[number]:.0f} MB ({time.perf_counter() - started:.0f} s)")
    settled = seen.get(100)
    if settled and args.requests in seen:
        change = (seen[args.requests] - settled) / settled * 100
        print(f"errors {errors}; end vs settled (request 100): {change:+.1f} %")


if __name__ == "__main__":
    main()
