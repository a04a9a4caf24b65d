"""How fast registry.evaluate runs, as ratios measured in one run (issue 19's targets).

    python -m benchmarks.bench_evaluate                     # 64 images, batch 8, the default backbone
    python -m benchmarks.bench_evaluate --images 256 --ray  # ... and the Ray engine on a local cluster

Three ways to get Grad-CAM and the pointing game for every image, at the same batch size:

- evaluate: `registry.evaluate(..., methods=["gradcam"], metrics=["pointing_game"])`, the local engine;
- bare loop: decode + prepare each image, stack a batch, one forward with a hook on the layer, one backward of
  the targets' logits, the CAM sum; no rows, no scoring, no checks: the floor any batched engine pays;
- per image: `plugin.run` on each image, then the same scoring by hand (what a loop over the API costs).

Targets: evaluate ≥ 0.8 × the bare loop's images/s, and ≥ 3 × per image. The dataset is the bundled samples
repeated with flips (their boxes flipped too) to the size asked for; the batch is the engine's default.

    python -m benchmarks.bench_evaluate --memory 200 2000   # peak resident memory of a run of each size

runs each size in a fresh process (Grad-CAM, pointing game, rows to Parquet) and prints its peak RSS: the
target is the larger within 10 % of the smaller.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import bare_gradcam  # noqa: E402
from registry.evaluation import ViewMaker, peak, pointing_hit, records  # noqa: E402


def dataset(folder: Path, count: int) -> Path:
    """A manifest of `count` images: the samples, then their mirror images, repeated (each a file of its own)."""
    lines = ["path,label,box"]
    base = records("samples")
    for index in range(count):
        record = base[index % len(base)]
        flipped = (index // len(base)) % 2 == 1
        with Image.open(record.path) as picture:
            picture = ImageOps.mirror(picture) if flipped else picture.copy()
            width = picture.width
            path = folder / f"{index:05d}{Path(record.path).suffix}"
            picture.save(path)
        x0, y0, x1, y1 = record.box
        box = (width - x1, y0, width - x0, y1) if flipped else record.box
        lines.append(f'{path.name},{record.label},"{",".join(str(v) for v in box)}"')
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def bare_loop(backbone: registry.Backbone, manifest: Path, batch_size: int) -> float:
    """Seconds for decode + prepare + forward + backward + the CAM, batch by batch, nothing else."""
    paths = [record.path for record in records(manifest)]
    _, module = backbone.module(None)
    started = time.perf_counter()
    for start in range(0, len(paths), batch_size):
        x = torch.cat([backbone.prepare(path)[0] for path in paths[start : start + batch_size]])
        bare_gradcam(backbone.model, module, x)
    return time.perf_counter() - started


def per_image(backbone: registry.Backbone, manifest: Path) -> float:
    """Seconds for plugin.run on each image and the pointing game scored by hand."""
    plugin = registry.get_plugin("gradcam")
    maker = ViewMaker(backbone.data_config)
    started = time.perf_counter()
    for record in records(manifest):
        result = plugin.run(backbone, record.path)
        picture, size = maker.picture(record.path)
        where = maker.geometry(size, picture.size)
        r, c = peak(result.raw)
        x, y = where.to_image(c + 0.5, r + 0.5)
        pointing_hit((int(x), int(y)), box=record.box)
    return time.perf_counter() - started


def peak_rss(count: int, batch_size: int, workers: int, backbone: str) -> float:
    """Peak resident memory (MiB) of this process after evaluating `count` images (run in a fresh process)."""
    with tempfile.TemporaryDirectory() as folder:
        manifest = dataset(Path(folder), count)
        registry.evaluate(
            manifest, [backbone], ["gradcam"], ["pointing_game"], out=Path(folder) / "run",
            engine=registry.EvaluationEngine(batch_size=batch_size, num_workers=workers),
        )  # fmt: skip
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("--images", type=int, default=64)
    ask.add_argument("--batch-size", type=int, default=registry.evaluation.DEFAULT_BATCH_SIZE)
    ask.add_argument("--workers", type=int, default=2, help="the local engine's DataLoader workers")
    ask.add_argument("--backbone", default=registry.DEFAULT_BACKBONE)
    ask.add_argument("--device", default=None)
    ask.add_argument("--ray", action="store_true", help="also time the Ray engine on a local cluster")
    ask.add_argument("--memory", type=int, nargs="+", metavar="IMAGES", help="peak RSS of a run of each size")
    ask.add_argument("--rss-of", type=int, help=argparse.SUPPRESS)  # the child process of --memory
    options = ask.parse_args()
    if options.rss_of:
        print(f"{peak_rss(options.rss_of, options.batch_size, options.workers, options.backbone):.1f}")
        return
    if options.memory:
        peaks = []
        for count in options.memory:
            command = [sys.executable, __file__, "--rss-of", str(count), "--batch-size", str(options.batch_size)]
            command += ["--workers", str(options.workers), "--backbone", options.backbone]
            peaks.append(float(subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1]))
            print(f"{count:6d} images: peak RSS {peaks[-1]:8.1f} MiB")
        print(f"largest / smallest: {peaks[-1] / peaks[0]:.3f} (target ≤ 1.10)")
        return
    backbone = registry.load_backbone(options.backbone, device=options.device)
    print(f"{options.images} images, batch {options.batch_size}, {backbone.name} on {backbone.device}, "
          f"{torch.get_num_threads()} torch threads, {options.workers} decoding workers")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        manifest = dataset(Path(folder), options.images)
        warm = records(manifest)[: options.batch_size]
        engine = registry.EvaluationEngine(batch_size=options.batch_size)
        registry.evaluate(warm, [backbone], ["gradcam"], ["pointing_game"], engine=engine)
        started = time.perf_counter()
        result = registry.evaluate(
            manifest, [backbone], ["gradcam"], ["pointing_game"],
            engine=dataclasses.replace(engine, num_workers=options.workers),
        )  # fmt: skip
        local = time.perf_counter() - started
        bare = bare_loop(backbone, manifest, options.batch_size)
        single = per_image(backbone, manifest)
        rate = {
            name: options.images / seconds
            for name, seconds in (("evaluate", local), ("bare", bare), ("single", single))
        }
        print(f"evaluate (local)   {rate['evaluate']:7.2f} images/s  ({local:.1f} s)")
        print(f"bare batched loop  {rate['bare']:7.2f} images/s  ({bare:.1f} s)")
        print(f"plugin.run / image {rate['single']:7.2f} images/s  ({single:.1f} s)")
        print(f"evaluate / bare      {rate['evaluate'] / rate['bare']:.2f}  (target ≥ 0.8)")
        print(f"evaluate / per image {rate['evaluate'] / rate['single']:.2f}  (target ≥ 3)")
        hits = np.mean([row["pointing_game"] for row in result.rows])
        print(f"pointing game (Grad-CAM, {backbone.name}): {hits:.3f} over {len(result.rows)} images")
        if options.ray:
            started = time.perf_counter()
            remote = registry.evaluate(
                manifest, [options.backbone], ["gradcam"], ["pointing_game"], device=options.device,
                engine=registry.EvaluationEngine("ray", batch_size=options.batch_size),
            )  # fmt: skip
            seconds = time.perf_counter() - started
            same = [r["pointing_game"] for r in remote.rows] == [r["pointing_game"] for r in result.rows]
            print(f"evaluate (ray)     {options.images / seconds:7.2f} images/s  ({seconds:.1f} s, start-up "
                  f"included); ray / local {local / seconds:.2f}; same pointing-game rows: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
