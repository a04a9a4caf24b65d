"""Strategies over N images against Evaluate's time for the same maps, and resident memory at two sizes.

    python -m benchmarks.bench_strategies --images 200 2000 --backbone test_efficientnet

Each size runs in its own process (resident memory is the process's peak, `ru_maxrss`): Evaluate alone with the
same method and the same batched pass (metrics "energy"), then `registry.strategies` on the same folder. The
images are crops of the bundled samples (testkit/shortcut.py's generator), every tenth one marked, all in one
class folder ("0"), so every image is explained for class 0 by both. Target: the
strategies at most 1.2 × Evaluate's time, and peak memory within 10 % from the small size to the large one. Both wall
and CPU seconds are printed: on a machine shared with other work the wall times of the two phases see different loads,
while the process's CPU seconds count only its own work.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(images: int, backbone: str, weights: str | None) -> dict:
    import numpy as np

    import registry
    from testkit import shortcut

    root = Path(tempfile.mkdtemp(prefix="bench-strategies-"))
    folder = root / "0"  # every image labelled class 0: all of them are the class's, whatever the model predicts
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = shortcut.NAMES
    for index in range(images):
        picture = shortcut.crop(names[index % len(names)], rng)
        (shortcut.paste_mark(picture) if index % 10 == 0 else picture).save(folder / f"{index:05d}.png")
    loaded = registry.load_backbone(backbone, device="cpu", weights=weights)
    started, cpu = time.perf_counter(), time.process_time()
    registry.evaluate(str(root), [loaded], ["gradcam"], ["energy"])
    evaluate_s, evaluate_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    found = registry.strategies(str(root), loaded, target=0)
    strategies_s, strategies_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "images": images,
        "class": found.target_label,
        "class_images": len(found.rows),
        "strategies": len(found.strategies),
        "evaluate_s": evaluate_s,
        "strategies_s": strategies_s,
        "ratio": strategies_s / evaluate_s,
        # CPU seconds of this process (every thread): what the work costs, whatever else shares the machine
        "evaluate_cpu_s": evaluate_cpu,
        "strategies_cpu_s": strategies_cpu,
        "cpu_ratio": strategies_cpu / evaluate_cpu,
        "maps_s": found.map_seconds,  # the pass inside strategies (Evaluate's); the rest is grouping and drawing
        "grouping_s": strategies_s - found.map_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--images", type=int, nargs="+", default=[200, 2000])
    ask.add_argument("--backbone", default="tf_efficientnet_lite0")
    ask.add_argument("--weights")
    ask.add_argument("--one", type=int, help=argparse.SUPPRESS)
    options = ask.parse_args()
    if options.one:
        print(json.dumps(one(options.one, options.backbone, options.weights)))
        return
    results = []
    for images in options.images:
        command = [
            sys.executable,
            "-m",
            "benchmarks.bench_strategies",
            "--one",
            str(images),
            "--backbone",
            options.backbone,
        ]
        if options.weights:
            command += ["--weights", options.weights]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    first, last = results[0], results[-1]
    print(
        f"strategies / evaluate at {last['images']} images: {last['ratio']:.2f} in wall time, "
        f"{last['cpu_ratio']:.2f} in CPU time (target ≤ 1.2)"
    )
    print(
        f"peak memory {first['images']} → {last['images']} images: {first['peak_rss_mb']:.0f} → "
        f"{last['peak_rss_mb']:.0f} MB ({last['peak_rss_mb'] / first['peak_rss_mb'] - 1:+.1%}, target within 10 %)"
    )


if __name__ == "__main__":
    main()
