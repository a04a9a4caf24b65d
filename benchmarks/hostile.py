"""Hostile-image waves: many concurrent huge uploads, then the server's resident memory.

    python -m benchmarks.hostile                    # 3 waves of 16 x 7000x7000 PNG, then 2 of 8 x 48 MP JPEG
    python -m benchmarks.hostile --waves 5 --env CNNLENS_MALLOC_TUNING=0

The images are generated in a temporary folder at run time (never committed). Prints resident
memory before, after each wave, the sampled peak and the kernel's peak (VmHWM), and how long
`/gradio_api/info` (what every new gradio_client fetches first) took meanwhile, asked every half second
with a 5 s timeout, as a newcomer's client would meet it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from benchmarks.serving import MemorySampler, Sampler, add_server_arguments, memory_mb, percentile, server
from testkit.api import tab_event


class InfoProbe(Sampler):
    """Asks for /gradio_api/info every `interval` s in the background; keeps each answer's seconds, or a timeout."""

    def __init__(self, url: str, interval: float = 0.5, timeout: float = 5.0):
        super().__init__(interval)
        self.timeout = timeout
        self.http = httpx.Client(base_url=url, timeout=timeout)
        self.seconds: list[float] = []
        self.timeouts = 0

    def sample(self) -> None:
        began = time.perf_counter()
        try:
            self.http.get("gradio_api/info").raise_for_status()
            self.seconds.append(time.perf_counter() - began)
        except httpx.TimeoutException:
            self.timeouts += 1

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.http.close()

    def summary(self) -> str:
        s = self.seconds
        return (
            f"/gradio_api/info during the waves: {len(s)} answered, p50 {percentile(s, 50):.2f} s, "
            f"p95 {percentile(s, 95):.2f} s, max {max(s, default=float('nan')):.2f} s; "
            f"{self.timeouts} timed out at {self.timeout:g} s"
        )


def make_image(folder: Path, width: int, height: int, suffix: str) -> Path:
    """A picture with structure (it compresses, so the upload is small; decoding it is not)."""
    x = np.linspace(0, 12 * np.pi, width, dtype=np.float32)
    y = np.linspace(0, 9 * np.pi, height, dtype=np.float32)[:, None]
    red = ((np.sin(x) * np.cos(y) + 1) * 127).astype(np.uint8)
    image = Image.fromarray(
        np.stack([red, red.T[:height, :width] if width == height else red[::-1], np.full_like(red, 60)], -1)
    )
    path = folder / f"hostile-{width}x{height}{suffix}"
    image.save(path, **({"quality": 90} if suffix == ".jpg" else {"compress_level": 1}))
    return path


def wave(url: str, image: Path, concurrent_requests: int, endpoint: str) -> tuple[int, float]:
    """Send `concurrent_requests` at once; return (errors, seconds)."""
    from gradio_client import Client, handle_file

    def one(_):
        args, keywords = tab_event(endpoint, handle_file(str(image)))  # the page's Run, in its method's lane
        return Client(url, verbose=False).predict(*args, **keywords)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrent_requests) as pool:
        outcomes = [pool.submit(one, i) for i in range(concurrent_requests)]
        errors = sum(1 for f in outcomes if f.exception(timeout=900) is not None)
    return errors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=3, help="waves of 16 x 7000x7000 PNG")
    parser.add_argument("--jpeg-waves", type=int, default=2, help="waves of 8 x 8000x6000 JPEG")
    parser.add_argument("--endpoint", default="gradcam")
    add_server_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnnlens-hostile-") as folder:
        png = make_image(Path(folder), 7000, 7000, ".png")
        jpeg = make_image(Path(folder), 8000, 6000, ".jpg")
        print(f"images: {png.name} {png.stat().st_size / 1e6:.1f} MB, {jpeg.name} {jpeg.stat().st_size / 1e6:.1f} MB")
        with server(args) as (url, pid):
            wave(url, Path(__file__).resolve().parent.parent / "examples" / "cat.png", 2, args.endpoint)  # warm-up
            time.sleep(2)
            print(f"RSS before: {memory_mb(pid)[0]:.0f} MB")
            with MemorySampler(pid) as sampler, InfoProbe(url) as info:
                plan = [(png, 16)] * args.waves + [(jpeg, 8)] * args.jpeg_waves
                for number, (image, count) in enumerate(plan, 1):
                    errors, seconds = wave(url, image, count, args.endpoint)
                    time.sleep(2)
                    print(
                        f"wave {number}: {count} x {image.name}, {seconds:.0f} s, errors {errors}, "
                        f"RSS after {memory_mb(pid)[0]:.0f} MB"
                    )
            print(info.summary())
            rss, hwm = memory_mb(pid)
            print(
                f"RSS after all waves: {rss:.0f} MB; sampled peak {sampler.peak:.0f} MB; kernel peak (VmHWM) "
                f"{hwm:.0f} MB"
            )


if __name__ == "__main__":
    main()
