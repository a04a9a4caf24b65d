"""#39: 200 distinct channel-picture requests against the cache's size bound (registry/storage).

Each request asks for one channel's picture under a seed no earlier request used, so each one adds a file; after
every request the cache is measured. Printed: the bound, the largest size seen after a request, the files kept.

    python -m benchmarks.bench_storage [--requests 200] [--bound-mb 0.25] [--size 64]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--bound-mb", type=float, default=0.25)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    os.environ["CNNLENS_FEATURE_VIS_CACHE_MB"] = str(args.bound_mb)

    from registry import storage
    from registry.analysis import FeatureVisSettings, visualize_channels
    from registry.testing import default_backbone

    backbone = default_backbone()
    layer = backbone.suggested_layer("middle")
    cache = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    bound = args.bound_mb * 2**20
    largest, written, started = 0, 0, time.perf_counter()
    for seed in range(args.requests):
        settings = FeatureVisSettings(steps=1, size=args.size, seed=seed)
        visualize_channels(backbone, layer, [seed % 8], settings, cache=cache)
        written += storage.entries(cache)[-1].nbytes
        largest = max(largest, storage.Bounded(cache).size())
    seconds = time.perf_counter() - started
    kept = len(list(cache.iterdir()))
    print(f"{args.requests} distinct requests at {args.size} px on {backbone.name} ({seconds:.1f} s)")
    print(f"written {written / 2**20:.2f} MB in all; bound {bound / 2**20:.2f} MB")
    print(f"largest cache after a request {largest / 2**20:.3f} MB ({largest / bound:.2f}x the bound); {kept} kept")
    storage.Bounded(cache).clear()


if __name__ == "__main__":
    main()
