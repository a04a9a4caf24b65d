"""What the benchmarks share: where they run from, the timing and statistics helpers, the machine's description.

Every benchmark runs from the repository root as a module (`python -m benchmarks.bench_plugins`), so `registry`,
`app` and `testkit` import as they are; nothing here changes sys.path.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "BACKBONE",
    "IMAGE",
    "ROOT",
    "bare_gradcam",
    "cuda_peak",
    "interleaved",
    "machine",
    "median_ms",
    "paired_ratio",
    "peak_since_start_mib",
    "pearson",
    "proc_peak_rss_mib",
    "quartiles",
    "synchronize",
    "timed",
]

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = "tf_efficientnet_lite0"
IMAGE = ROOT / "examples" / "cat.png"


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """A case that times the whole call."""

    def case() -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    return case


def interleaved(cases: dict[str, Callable[[], float]], repeat: int, warmup: int) -> dict[str, list[float]]:
    """Run every case `warmup` times, then `repeat` rounds with the order rotated each round.

    A case returns the seconds it wants counted (so set-up can stay outside the clock)."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(cases[name]())
    return samples


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000.0


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def paired_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Median (and 25/75 %) of a[i] / b[i]: the two were timed in the same round."""
    ratios = [x / y for x, y in zip(a, b) if y > 0]
    low, high = quartiles(ratios)
    return statistics.median(ratios), low, high


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def proc_peak_rss_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of a running process, MiB. getrusage(RUSAGE_CHILDREN) is no use
    here: on Linux a child's ru_maxrss starts from the parent's RSS at fork time."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024
    except (OSError, StopIteration, ValueError):
        return float("nan")


def machine() -> str:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{usable} CPU cores usable ({os.cpu_count()} online, {cpu or 'unknown CPU'}), {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} intra-op threads), device cpu (CUDA available: {torch.cuda.is_available()})"
    )


def bare_gradcam(model: torch.nn.Module, module: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Grad-CAM of each image's top class in one forward and backward, written inline: the floor that the app's
    batched pass is measured against (bench_evaluate, bench_video)."""
    kept = {}
    handle = module.register_forward_hook(lambda _m, _i, output, kept=kept: kept.setdefault("a", output))
    try:
        logits = model(x.requires_grad_(True))
    finally:
        handle.remove()
    targets = logits.argmax(dim=1)
    grads = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), kept["a"])[0]
    cams = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * kept["a"]).sum(dim=1, keepdim=True))
    cams = torch.nn.functional.interpolate(cams, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return cams.detach().cpu().numpy()


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work: a CUDA step's time ends when its kernels end, not when they are queued."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _indexed(device: torch.device | str) -> torch.device:
    """A device named "cuda" as "cuda:N" (the current device), so one device has one key."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


_PEAK_BEFORE_RESETS: dict[torch.device, int] = {}  # each CUDA device's highest peak before cuda_peak reset it


@contextlib.contextmanager
def cuda_peak(device: torch.device | str) -> Iterator[dict[str, float | None]]:
    """torch.cuda.max_memory_allocated over the block, in MiB, as the yielded dict's "mib" (None off CUDA).

    It resets the device's peak counter; `peak_since_start_mib` still sees the peak from before the reset."""
    device = _indexed(device)
    found: dict[str, float | None] = {"mib": None}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = max(_PEAK_BEFORE_RESETS.get(device, 0), torch.cuda.max_memory_allocated(device))
        _PEAK_BEFORE_RESETS[device] = before
        torch.cuda.reset_peak_memory_stats(device)
    yield found
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        found["mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def peak_since_start_mib(device: torch.device | str) -> float:
    """torch.cuda.max_memory_allocated since the process started (or the caller's last reset), across cuda_peak's
    resets, in MiB."""
    device = _indexed(device)
    return round(max(_PEAK_BEFORE_RESETS.get(device, 0), torch.cuda.max_memory_allocated(device)) / 2**20, 1)
