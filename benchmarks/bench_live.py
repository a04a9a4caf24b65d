"""Webcam latency (issue 42): the server's time from a frame's arrival to its overlay, against one /gradcam request.

    python -m benchmarks.bench_live --frames 20

What is timed, in one process, the two cases interleaved round by round on the same loaded backbone:
- live frame: the Live tab's stream handler as Gradio calls it for one frame: the frame as the browser sends it (a
  640×480 JPEG in a data URL) through `CameraFrames.preprocess` (the size checks, Gradio's decode), `run_webcam`
  (the batched shared pass, the overlay, the caption, the top-3, the rate) and the overlay's JPEG as Gradio
  postprocesses it for the page;
- /gradcam: the handler behind /gradcam (`plugin_run.run_plugin`) on the same picture saved as a file: decode,
  the Grad-CAM pass, the map, the overlay and the files it writes.
Not timed: the browser's capture and the network both ways (the same for both on one machine), Gradio's queue.

Target: the live frame's p50 ≤ the /gradcam p50 + 100 ms.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from gradio.data_classes import ImageData
from PIL import Image

import registry
from app import controls, live_tab, plugin_run
from benchmarks._common import BACKBONE, IMAGE, interleaved, machine


def camera_frame(side: tuple[int, int] = (640, 480)) -> str:
    """The sample as a webcam frame arrives: a JPEG in a data URL."""
    picture = Image.new("RGB", side, (128, 128, 128))
    cat = Image.open(IMAGE).convert("RGB")
    cat.thumbnail((side[1] * 8 // 10, side[1] * 8 // 10))
    picture.paste(cat, ((side[0] - cat.width) // 2, (side[1] - cat.height) // 2))
    data = io.BytesIO()
    picture.save(data, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(data.getvalue()).decode()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--frames", type=int, default=20, help="timed rounds (a live frame and a /gradcam each)")
    ask.add_argument("--warmup", type=int, default=2)
    options = ask.parse_args()
    torch.manual_seed(0)
    camera = controls.CameraFrames(sources=["webcam"], streaming=True, type="pil")
    shown = controls.gr.Image(format="jpeg")
    plugin = registry.get_plugin("gradcam")
    url = camera_frame()
    state: dict = {"value": None}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frame.jpg"
        path.write_bytes(base64.b64decode(url.partition(",")[2]))

        def live() -> float:
            started = time.perf_counter()
            frame = camera.preprocess(ImageData(url=url))
            overlay, _, _, state["value"] = live_tab.run_webcam(frame, "gradcam", BACKBONE, False, state["value"])
            shown.postprocess(overlay)
            return time.perf_counter() - started

        def gradcam() -> float:
            started = time.perf_counter()
            plugin_run.run_plugin(plugin, str(path), BACKBONE, None, False, None, {})
            return time.perf_counter() - started

        samples = interleaved({"live frame": live, "/gradcam": gradcam}, options.frames, options.warmup)
    print(f"{machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{BACKBONE}, Grad-CAM, a 640×480 JPEG frame, {options.frames} rounds interleaved")
    for name, values in samples.items():
        p50, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
        print(f"{name:<12} p50 {p50:7.0f} ms   p95 {p95:7.0f} ms")
    gap = (statistics.median(samples["live frame"]) - statistics.median(samples["/gradcam"])) * 1000
    print(f"live p50 − /gradcam p50   {gap:+.0f} ms  (target ≤ +100 ms)")


if __name__ == "__main__":
    main()
