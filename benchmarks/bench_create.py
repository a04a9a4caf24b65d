"""What Create costs (issue 41): style transfer's step against a bare loop, its loss against the PyTorch tutorial's
L-BFGS recipe, the default run's time, and the peak memory at the largest size allowed.

    python -m benchmarks.bench_create            # print the section (markdown)
    python -m benchmarks.bench_create --write    # ... and replace its section in RESULTS.md

In one run, on the default backbone (its stages from timm's feature_info), the cat sample as content and the
bundled Starry Night as style:
- the bare loop (target: a step at most 1.15× it): `steps` times one forward to the deepest stage read and one
  backward to the pixels, nothing else (no Gram matrices, no losses, no optimiser);
- `transfer_style` with Adam (the plugin's default) and with L-BFGS one evaluation a step, at the same steps;
- the tutorial's recipe: `LBFGS([x])` with its defaults (20 iterations a call), called until the closure has run
  `steps` times, pixels clamped in the closure, the same losses and weights;
- the plugin's default run (256 px on a CPU), and the peak resident memory of a fresh process that runs style
  transfer and DeepDream at CNNLENS_CREATE_MAX_SIZE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import ROOT, machine  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from registry.analysis import StyleSettings, transfer_style  # noqa: E402
from registry.analysis._create import _Losses, _maps, _pixels  # noqa: E402
from registry.imaging import load_image, sample_paths  # noqa: E402

HEADING = "## Create: style transfer and DeepDream (issue 41, bench_create.py)"
PEAK = """
import resource, sys, registry
from registry.analysis import DreamSettings, StyleSettings, dream, transfer_style
from registry.imaging import load_image, sample_paths
b = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
cat, star = load_image(sample_paths()["cat"]), load_image(sample_paths()["starry-night"])
size = int(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
transfer_style(b, cat, star, StyleSettings(steps=2, size=size))
style = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
dream(b, b.suggested_layer("middle"), cat, DreamSettings(octaves=1, steps=2, size=size), cache=False)
print(before / 1024, style / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bare_loop(backbone: registry.Backbone, losses: _Losses, pixels: torch.Tensor, steps: int) -> float:
    """Seconds for `steps` forwards to the deepest stage read and backwards to the pixels."""
    x = pixels.clone().requires_grad_(True)
    started = time.perf_counter()
    for _ in range(steps):
        maps = _maps(backbone, losses.layers, backbone.normalized(x, x))
        torch.autograd.grad(sum(m.mean() for m in maps.values()), [x])
    return time.perf_counter() - started


def tutorial(losses: _Losses, pixels: torch.Tensor, steps: int) -> tuple[float, float]:
    """(final loss, seconds) of the tutorial's loop: LBFGS with its defaults until the closure ran `steps` times."""
    x = pixels.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([x])
    run = [0]

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
        optimiser.step(closure)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        x.clamp_(0, 1)
        return float(losses.total(x)), seconds


def row(what: str, seconds: float, steps: int, bare: float, loss: float | None, target: str = "") -> str:
    """One line of the table: seconds, per step, the ratio to the bare loop, the final loss."""
    shown = "" if loss is None else f"{loss:.4g}"
    return f"| {what} | {seconds:.2f} | {seconds / steps:.3f} | **{seconds / bare:.2f}×** | {shown} | {target} |"


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--steps", type=int, default=100)
    ask.add_argument("--size", type=int, default=256)
    ask.add_argument("--write", action="store_true", help="replace this section of RESULTS.md")
    options = ask.parse_args()
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    for parameter in backbone.model.parameters():
        parameter.requires_grad_(False)  # as in the tutorial: gradients for the pixels only (for every loop here)
    cat, star = backbone.prepare(sample_paths()["cat"])[1], load_image(sample_paths()["starry-night"])
    steps, size = options.steps, options.size
    settings = StyleSettings(steps=steps, size=size)
    content = _pixels(cat, size, backbone.device)
    losses = _Losses(backbone, content, _pixels(star, size, backbone.device), settings)
    bare_loop(backbone, losses, content, 2)  # warm-up
    bare = bare_loop(backbone, losses, content, steps)
    adam = transfer_style(backbone, cat, star, settings)
    lbfgs = transfer_style(backbone, cat, star, StyleSettings(steps=steps, size=size, optimizer="lbfgs"))
    recipe_loss, recipe_seconds = tutorial(losses, content, steps)
    for parameter in backbone.model.parameters():
        parameter.requires_grad_(True)
    largest = registry.settings.value("CNNLENS_CREATE_MAX_SIZE")
    peak = subprocess.run(
        [sys.executable, "-c", PEAK, str(largest)], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    base, style_peak, dream_peak = (float(v) for v in peak)
    best = min((adam, "Adam"), (lbfgs, "L-BFGS"), key=lambda pair: pair[0].losses[-1])[1]
    text = f"""{HEADING}

- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}
- Command: `python -m benchmarks.bench_create --steps {steps} --size {size}`; {backbone.name}, style from
  {", ".join(adam.style_layers)}, content at {adam.content_layer}, weights 1 and 1e6, the cat in The Starry Night.

| measure | seconds | per step | ratio | final loss | target |
|---|---:|---:|---:|---:|---|
{row(f"bare loop: {steps} × (forward to {adam.content_layer} + backward to the pixels)", bare, steps, bare, None)}
{row("style transfer, Adam (the default)", adam.seconds, steps, bare, adam.losses[-1], "≤ 1.15×")}
{row("style transfer, L-BFGS one evaluation a step", lbfgs.seconds, steps, bare, lbfgs.losses[-1])}
{row(f"the tutorial's LBFGS recipe, {steps} evaluations", recipe_seconds, steps, bare, recipe_loss)}

At {steps} steps {best} reached the lower loss (Adam {adam.losses[-1]:.4g}, L-BFGS {lbfgs.losses[-1]:.4g};
the tutorial's loop {recipe_loss:.4g}). Adam's style distance fell {adam.style_fall:.0%}; its content distance
ended at {adam.content_end:.3g}.

Peak resident memory of a fresh process at CNNLENS_CREATE_MAX_SIZE = {largest} px: {base:.0f} MiB with the model
loaded, {style_peak:.0f} MiB after style transfer, {dream_peak:.0f} MiB after DeepDream (one octave at that size).
"""
    publish(HEADING, text, options.write)


if __name__ == "__main__":
    main()
