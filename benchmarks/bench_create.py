"""What Create costs (issue 41): style transfer's step against a bare loop, its loss against the PyTorch tutorial's
L-BFGS recipe, the default run's time, and the peak memory at the largest size allowed.

    python -m benchmarks.bench_create            # print the section (markdown)
    python -m benchmarks.bench_create --write    # ... and replace its section in RESULTS.md

In one run, on the default backbone (its stages from timm's feature_info), the cat sample as content and the
bundled Starry Night as style:
- the bare loop (target: a step at most 1.15× it): `steps` times one forward to the deepest stage read and one
  backward to the pixels, nothing else (no Gram matrices, no losses, no optimiser);
- `transfer_style` with Adam and with L-BFGS one evaluation a step, at the same steps, each step's time recorded,
  so the loss each reached in the same time is compared (the optimiser that wins is the plugin's default);
- the tutorial's recipe: `LBFGS([x])` with its defaults (20 iterations a call), called until the closure has run
  `steps` times (the last call's `max_eval` cut to what is left, so it evaluates exactly `steps` times), pixels
  clamped in the closure, the same losses and weights;
- a DeepDream octave's step against its own bare loop (forward to the layer, backward to the pixels);
- the peak resident memory of a fresh process that runs style transfer and DeepDream at CNNLENS_CREATE_MAX_SIZE.

`--threads` (default 1) sets torch's intra-op threads: on the shared 2-core machine, under other sessions' load,
two threads spin-wait on each other and a step costs several times more (measured 4.8 s against 0.8 s at 256 px).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import ROOT, cuda_peak, machine, synchronize  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from registry.analysis import DreamSettings, StyleResult, StyleSettings, dream, transfer_style  # noqa: E402
from registry.analysis._create import _Losses, _maps, _model_input, _pixels  # noqa: E402
from registry.imaging import load_image, sample_paths  # noqa: E402

HEADING = "## Create: style transfer and DeepDream (issue 41, bench_create.py)"
PEAK = """
import resource, sys, torch, registry
torch.set_num_threads(int(sys.argv[2]))
from registry.analysis import DreamSettings, StyleSettings, dream, transfer_style
from registry.imaging import load_image, sample_paths
b = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
cat, star = b.prepare(sample_paths()["cat"])[1], load_image(sample_paths()["starry-night"])
size = int(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
transfer_style(b, cat, star, StyleSettings(steps=2, size=size))
style = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
dream(b, b.suggested_layer("middle"), cat, DreamSettings(octaves=1, steps=2, size=size), cache=False)
print(before / 1024, style / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bare_loop(backbone: registry.Backbone, losses: _Losses, pixels: torch.Tensor, steps: int) -> list[float]:
    """Each step's seconds, for `steps` forwards to the deepest stage read and backwards to the pixels."""
    x = pixels.clone().requires_grad_(True)
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        maps = _maps(backbone, losses.layers, backbone.normalized(x, x))
        torch.autograd.grad(sum(m.mean() for m in maps.values()), [x])
        synchronize(x.device)
        seconds.append(time.perf_counter() - started)
    return seconds


def bare_dream(backbone: registry.Backbone, layer: str, pixels: torch.Tensor, steps: int) -> list[float]:
    """Each step's seconds, for `steps` forwards to `layer` and backwards to the pixels: a dream step's floor."""
    x = pixels.clone().requires_grad_(True)
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        maps = _maps(backbone, [layer], _model_input(backbone, x))
        torch.autograd.grad(maps[layer].clamp(min=0).mean(), [x])
        synchronize(x.device)
        seconds.append(time.perf_counter() - started)
    return seconds


def step_seconds(ends: list[float]) -> list[float]:
    """Each step's seconds from the times its steps ended (the first step also paid the run's set-up: left out)."""
    return [later - earlier for earlier, later in zip(ends, ends[1:])]


def timed_transfer(backbone: registry.Backbone, content, style, settings: StyleSettings):
    """transfer_style, with the time since its start at which each step ended (the device's queue drained)."""
    started = time.perf_counter()
    ends: list[float] = []

    def ended(*_) -> None:
        synchronize(backbone.device)
        ends.append(time.perf_counter())

    made = transfer_style(backbone, content, style, settings, step=ended)
    return made, [end - started for end in ends]


@contextlib.contextmanager
def frozen(backbone: registry.Backbone) -> Iterator[None]:
    """As in the tutorial: gradients for the pixels only (for every loop timed here); the model's flags restored."""
    flags = [(parameter, parameter.requires_grad) for parameter in backbone.model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


@dataclass
class Transfers:
    """Style transfer runs timed step by step, the bare loop's steps around them and the tutorial's recipe."""

    bare_steps: list[float]
    runs: list[tuple[StyleResult, list[float]]]  # each run and the times its steps ended
    peaks_mib: list[float | None]  # each run's torch.cuda.max_memory_allocated (None off CUDA)
    recipe_loss: float
    recipe_seconds: float

    @property
    def bare_step(self) -> float:
        return statistics.median(self.bare_steps)

    def step(self, index: int) -> float:
        """The median step of run `index`."""
        return statistics.median(step_seconds(self.runs[index][1]))


def against_bare(backbone: registry.Backbone, content, style, runs: Sequence[StyleSettings]) -> Transfers:
    """Each of `runs` (the same steps and size) and then the tutorial's recipe at those steps, between two halves of
    the bare loop (half before the runs and half after: the machine's drift falls on both sides)."""
    steps, size = runs[0].steps, runs[0].size
    pixels = _pixels(content, size, backbone.device)
    losses = _Losses(backbone, pixels, _pixels(style, size, backbone.device), runs[0])
    bare_loop(backbone, losses, pixels, 2)  # warm-up
    bare_steps = bare_loop(backbone, losses, pixels, steps // 2)
    made, peaks = [], []
    for settings in runs:
        with cuda_peak(backbone.device) as peak:
            made.append(timed_transfer(backbone, content, style, settings))
        peaks.append(peak["mib"])
    recipe_loss, recipe_seconds = tutorial(losses, pixels, steps)
    bare_steps += bare_loop(backbone, losses, pixels, steps - steps // 2)
    return Transfers(bare_steps, made, peaks, recipe_loss, recipe_seconds)


def time_dream(
    backbone: registry.Backbone, layer: str, image, steps: int, size: int
) -> tuple[float, list[float], list[float]]:
    """(seconds, each step's seconds, each bare step's seconds) of one DeepDream octave of `steps` at `size`, the
    bare loop (forward to `layer`, backward to the pixels) timed just before it."""
    bare_dream(backbone, layer, _pixels(image, size, backbone.device), 2)  # warm-up
    bare = bare_dream(backbone, layer, _pixels(image, size, backbone.device), steps)
    ends: list[float] = []

    def ended(*_) -> None:
        synchronize(backbone.device)
        ends.append(time.perf_counter())

    started = time.perf_counter()
    dream(backbone, layer, image, DreamSettings(octaves=1, steps=steps, size=size), cache=False, step=ended)
    return time.perf_counter() - started, step_seconds(ends), bare


def loss_by(made: StyleResult, ends: list[float], seconds: float) -> float:
    """The loss the run had reached `seconds` after it started (its history: before each step, then final)."""
    done = sum(1 for end in ends if end <= seconds)  # steps finished by then
    return made.losses[done]


def tutorial(losses: _Losses, pixels: torch.Tensor, steps: int) -> tuple[float, float]:
    """(final loss, seconds) of the tutorial's loop: LBFGS with its defaults until the closure ran `steps` times."""
    x = pixels.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([x])
    run = [0]
    group = optimiser.param_groups[0]

    def closure() -> torch.Tensor:
        with torch.no_grad():
            x.clamp_(0, 1)
        optimiser.zero_grad()
        loss = losses.total(x)
        loss.backward()
        run[0] += 1
        return loss

    started = time.perf_counter()
    while run[0] < steps:
        group["max_eval"] = min(group["max_eval"], steps - run[0])  # the same number of evaluations as the others
        optimiser.step(closure)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        x.clamp_(0, 1)
        return float(losses.total(x)), seconds


def row(what: str, seconds: float, step: float, bare: float, loss: float | None = None, target: str = "") -> str:
    """One line of the table: the run's seconds, its median step, that step against the bare loop's, the final loss."""
    shown = "" if loss is None else f"{loss:.4g}"
    return f"| {what} | {seconds:.2f} | {step:.3f} | **{step / bare:.2f}×** | {shown} | {target} |"


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--steps", type=int, default=100)
    ask.add_argument("--size", type=int, default=256)
    ask.add_argument("--dream-steps", type=int, default=20)
    ask.add_argument("--threads", type=int, default=1)
    ask.add_argument("--write", action="store_true", help="replace this section of RESULTS.md")
    options = ask.parse_args()
    torch.set_num_threads(options.threads)
    load_before = os.getloadavg()
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    cat, star = backbone.prepare(sample_paths()["cat"])[1], load_image(sample_paths()["starry-night"])
    steps, size = options.steps, options.size
    layer = backbone.suggested_layer("middle")
    dream_steps = options.dream_steps
    with frozen(backbone):
        runs = [StyleSettings(steps=steps, size=size, optimizer=name) for name in ("adam", "lbfgs")]
        timed = against_bare(backbone, cat, star, runs)
        dream_seconds, dream_steps_seconds, dream_bare_steps = time_dream(backbone, layer, cat, dream_steps, size)
    (adam, adam_ends), (lbfgs, lbfgs_ends) = timed.runs
    recipe_loss, recipe_seconds = timed.recipe_loss, timed.recipe_seconds
    bare, bare_step = sum(timed.bare_steps), timed.bare_step
    adam_step, lbfgs_step = timed.step(0), timed.step(1)
    same_time = min(adam_ends[-1], lbfgs_ends[-1])
    at_same_time = {"Adam": loss_by(adam, adam_ends, same_time), "L-BFGS": loss_by(lbfgs, lbfgs_ends, same_time)}
    half = same_time / 2
    at_half = {"Adam": loss_by(adam, adam_ends, half), "L-BFGS": loss_by(lbfgs, lbfgs_ends, half)}
    best = min(at_same_time, key=at_same_time.get)
    dream_bare, dream_floor = sum(dream_bare_steps), statistics.median(dream_bare_steps)
    dream_step = statistics.median(dream_steps_seconds)
    recipe_step = recipe_seconds / steps
    largest = registry.settings.value("CNNLENS_CREATE_MAX_SIZE")
    peak = subprocess.run(
        [sys.executable, "-c", PEAK, str(largest), str(options.threads)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.split()
    base, style_peak, dream_peak = (float(v) for v in peak)
    load_after = os.getloadavg()
    default = lbfgs if StyleSettings().optimizer == "lbfgs" else adam
    text = f"""{HEADING}

- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}
- Load average (1 min) {load_before[0]:.1f} at the start and {load_after[0]:.1f} at the end: the machine is shared
  with other sessions, so the seconds are slow and the ratios, measured in this one run, are the result.
- Command: `python -m benchmarks.bench_create --steps {steps} --size {size} --dream-steps {dream_steps} --threads
  {options.threads}`; {backbone.name}, style from {", ".join(adam.style_layers)}, content at {adam.content_layer},
  weights 1 and 1e6, the cat in The Starry Night, starting from the content image.

Per step: the median of the steps' own times (a run's first step, which also pays its set-up, left out; the
bare loop's steps taken half before the runs and half after them); the ratio is that median against the bare loop's.
The tutorial's loop gives no per-step times: its row is its whole time over its evaluations.

| measure | seconds | per step (median) | ratio | final loss | target |
|---|---:|---:|---:|---:|---|
{row(f"bare loop: {steps} × (forward to {adam.content_layer} + backward to the pixels)", bare, bare_step, bare_step)}
{row("style transfer, Adam (lr 0.02)", adam.seconds, adam_step, bare_step, adam.losses[-1], "≤ 1.15×")}
{row("style transfer, L-BFGS one evaluation a step", lbfgs.seconds, lbfgs_step, bare_step, lbfgs.losses[-1], "≤ 1.15×")}
{row(f"the tutorial's LBFGS recipe, {steps} evaluations", recipe_seconds, recipe_step, bare_step, recipe_loss)}
{row(f"DeepDream bare loop: {dream_steps} × (forward to {layer} + backward)", dream_bare, dream_floor, dream_floor)}
{row(f"DeepDream, one octave of {dream_steps} steps", dream_seconds, dream_step, dream_floor, None, "≤ 1.15×")}

In the same time ({same_time:.1f} s, the shorter of the two runs) Adam reached a loss of {at_same_time["Adam"]:.4g}
and L-BFGS {at_same_time["L-BFGS"]:.4g} (at half that time: Adam {at_half["Adam"]:.4g}, L-BFGS
{at_half["L-BFGS"]:.4g}): **{best}** reached the lower loss in this run (the plugin's default, `StyleSettings`, is the
optimiser that won at the default 100 steps and 256 px). The tutorial's loop, at the
same {steps} evaluations, ended at {recipe_loss:.4g} in {recipe_seconds:.1f} s. With Adam the style distance fell
{adam.style_fall:.0%} and the content distance ended at {adam.content_end:.3g}; with L-BFGS {lbfgs.style_fall:.0%} and
{lbfgs.content_end:.3g}. The run with the default optimiser ({steps} steps at {size} px on this CPU) took
{default.seconds:.1f} s.

Peak resident memory of a fresh process at CNNLENS_CREATE_MAX_SIZE = {largest} px: {base:.0f} MiB with the model
loaded, {style_peak:.0f} MiB after style transfer, {dream_peak:.0f} MiB after DeepDream (one octave at that size).
(the content: the cat as the model sees it, square; the style {largest} px on its short side). A larger side, or a
picture with more pixels than {2 * largest}×{largest}, is refused before any pass.
"""
    publish(HEADING, text, options.write)


if __name__ == "__main__":
    main()
