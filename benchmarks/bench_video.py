"""Videos (issue 42): frames per second explained, against a bare batched loop and frame by frame; memory from a short
clip to one ten times longer.

    python -m benchmarks.bench_video --frames 24 --memory 300 3000

- explain_video: a generated clip (the cat sample crossing a grey frame), every frame, Grad-CAM, batches of
  `--batch-size`, the overlaid MP4 written;
- bare loop: the same frames decoded (PyAV), prepared, stacked, one forward with a hook on the layer, one backward
  of every frame's top logit and the CAM, batch by batch, nothing else (no MP4);
- frame by frame: explain_video with batches of one;
- memory: peak resident memory of a fresh process explaining a 64×64 clip of each length (`--memory-backbone`, tiny
  and random by default so the long clip is quick; the frames are what must not accumulate).

Targets: explain_video ≥ 0.8 × the bare loop's frames/s; peak memory within 10 % from the short clip to the long.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

import registry
from benchmarks._common import BACKBONE, ROOT, bare_gradcam
from registry.imaging import EXAMPLES, VideoWriter, frames


def clip(path: Path, count: int, side: int = 128, fps: int = 25) -> Path:
    cat = Image.open(EXAMPLES / "cat.png").convert("RGB")
    cat.thumbnail((side * 6 // 10, side * 6 // 10))
    with VideoWriter(path, fps, (side, side)) as writer:
        for number in range(count):
            t = number / max(1, count - 1)
            canvas = Image.new("RGB", (side, side), (128, 128, 128))
            canvas.paste(cat, (int(t * (side - cat.width)), int((0.15 + 0.7 * t) * (side - cat.height))))
            writer.write(canvas)
    return path


def bare_loop(backbone: registry.Backbone, video: Path, batch_size: int) -> tuple[float, int]:
    """Seconds and frames for decode + prepare + forward + backward + the CAM, batch by batch."""
    _, module = backbone.module(None)
    started, count, batch = time.perf_counter(), 0, []

    def run(pictures):
        x = torch.cat([backbone.prepare(picture)[0] for picture in pictures])
        bare_gradcam(backbone.model, module, x)

    for frame in frames(video):
        batch.append(frame.picture)
        count += 1
        if len(batch) == batch_size:
            run(batch)
            batch = []
    if batch:
        run(batch)
    return time.perf_counter() - started, count


def compare(
    backbone: registry.Backbone, video: Path, batch_size: int, out: Path
) -> tuple[registry.VideoExplanation, dict[str, float]]:
    """explain_video batched (after a warm-up run; the MP4 and the CSV rows written beside `out`), the bare batched
    loop over the same frames at the same batch size, and explain_video frame by frame: the batched result and each
    one's frames per second."""
    registry.explain_video(video, backbone, every=1, batch_size=batch_size)  # warm-up
    batched = registry.explain_video(video, backbone, every=1, batch_size=batch_size, out=out, parquet=False)
    bare, count = bare_loop(backbone, video, batch_size)
    single = registry.explain_video(video, backbone, every=1, batch_size=1)
    rate = {"explain_video": len(batched.rows) / batched.seconds, "bare": count / bare}
    rate["frame by frame"] = len(single.rows) / single.seconds
    return batched, rate


def peak_rss(count: int, backbone: str) -> None:
    """Print the peak resident memory (MiB) of this process after explaining a clip of `count` frames."""
    with tempfile.TemporaryDirectory() as folder:
        video = clip(Path(folder) / "clip.mp4", count, side=64)
        registry.explain_video(video, registry.load_backbone(backbone, weights=registry.RANDOM), every=1,
                               out=Path(folder) / "out.mp4", parquet=False)  # fmt: skip
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--frames", type=int, default=24)
    ask.add_argument("--batch-size", type=int, default=8)
    ask.add_argument("--backbone", default=BACKBONE)
    ask.add_argument("--memory", type=int, nargs=2, default=(300, 3000), metavar=("SHORT", "LONG"))
    ask.add_argument("--memory-backbone", default="test_efficientnet")
    ask.add_argument("--rss", type=int, help=argparse.SUPPRESS)  # the child's job: one clip, its peak memory
    options = ask.parse_args()
    if options.rss:
        peak_rss(options.rss, options.memory_backbone)
        return
    torch.manual_seed(0)
    backbone = registry.load_backbone(options.backbone)
    with tempfile.TemporaryDirectory() as folder:
        video = clip(Path(folder) / "clip.mp4", options.frames)
        _, rate = compare(backbone, video, options.batch_size, Path(folder) / "o.mp4")
    print(f"{options.frames} frames, 128×128, {options.backbone}, Grad-CAM, batch {options.batch_size}")
    for name, value in rate.items():
        print(f"{name:<16}{value:7.2f} frames/s")
    print(f"explain_video / bare        {rate['explain_video'] / rate['bare']:.2f}  (target ≥ 0.8)")
    print(f"batched / frame by frame    {rate['explain_video'] / rate['frame by frame']:.2f}")
    rss = []
    for count in options.memory:
        command = [sys.executable, "-m", "benchmarks.bench_video", "--rss", str(count)]
        command += ["--memory-backbone", options.memory_backbone]
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        rss.append(float(out.stdout.strip().splitlines()[-1]))
        print(f"peak RSS, {count} frames: {rss[-1]:.0f} MiB")
    print(f"long / short peak RSS       {rss[1] / rss[0]:.3f}  (target ≤ 1.10)")


if __name__ == "__main__":
    main()
