"""What "What a channel looks for" costs (issue 20): the optimisation against a bare loop, and a cached request.

    python -m benchmarks.bench_feature_vis            # print the section (markdown)
    python -m benchmarks.bench_feature_vis --write    # ... and replace its section in RESULTS.md

Three timings in one run, on the default backbone's middle stage with the plugin's default settings:
- `visualize_channels` for `--channels` channels, uncached (one batch, `steps` Adam steps);
- the bare loop it must stay near (target: at most 1.3x): `steps` times one batched forward up to the layer and
  one backward to a fixed input of the same size, nothing else (no Fourier image, no warp, no optimiser);
- the same request again, read from the cache (target: at least 50x faster than uncached), and the whole plugin
  run cached (its samples' patches and notes included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import ROOT, machine  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from registry.analysis import (  # noqa: E402
    FEATURE_VIS_STEPS,
    FeatureVisSettings,
    layer_activations,
    visualize_channels,
)

HEADING = "## Feature visualization (issue 20, bench_feature_vis.py)"


def bare_loop(backbone: registry.Backbone, layer: str, channels: list[int], steps: int) -> float:
    """Seconds for `steps` batched forwards to `layer` and backwards to the input: the optimisation's floor."""
    height, width = backbone.data_config["input_size"][1:]
    x = torch.rand(len(channels), backbone.channels, height, width).requires_grad_(True)
    index = torch.tensor(channels)
    started = time.perf_counter()
    for _ in range(steps):
        maps = layer_activations(backbone, layer, x)
        torch.autograd.grad(-maps[torch.arange(len(channels)), index].mean(), [x])  # to the input only, as it does
    return time.perf_counter() - started


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--channels", type=int, default=8)
    ask.add_argument("--steps", type=int, default=FEATURE_VIS_STEPS)
    ask.add_argument("--write", action="store_true", help="replace this section of RESULTS.md")
    options = ask.parse_args()
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    layer = backbone.suggested_layer("middle")
    channels = list(range(options.channels))
    settings = FeatureVisSettings(steps=options.steps)
    plugin = registry.get_plugin("feature_vis")
    sample = ROOT / "examples" / "cat.png"
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CNNLENS_FEATURE_VIS_CACHE"] = cache
        bare_loop(backbone, layer, channels, 2)  # warm-up
        bare = bare_loop(backbone, layer, channels, options.steps)
        started = time.perf_counter()
        visualize_channels(backbone, layer, channels, settings)
        uncached = time.perf_counter() - started
        started = time.perf_counter()
        visualize_channels(backbone, layer, channels, settings)
        cached = time.perf_counter() - started
        ask_for = {"layer": layer, "count": options.channels, "first_channel": 0, "steps": options.steps}
        plugin.run(backbone, sample, **ask_for)  # the same pictures, from the cache; the samples' maps kept
        started = time.perf_counter()
        run = plugin.run(backbone, sample, **ask_for)
        rerun = time.perf_counter() - started
    shape = backbone.layer_info(layer)
    text = f"""{HEADING}

- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}
- Command: `python -m benchmarks.bench_feature_vis --channels {options.channels} --steps {options.steps}`;
  {backbone.name}, layer `{layer}` ({shape.channels}×{shape.height}×{shape.width}), channels 0-{options.channels - 1},
  {settings.size}-pixel pictures warped to {backbone.data_config["input_size"][1]} px, one batch.

| measure | seconds | ratio | target |
|---|---:|---:|---|
| bare loop: {options.steps} × (forward to the layer + backward), batch {options.channels} | {bare:.2f} | 1 | |
| `visualize_channels`, uncached | {uncached:.2f} | **{uncached / bare:.2f}×** the bare loop | ≤ 1.3× |
| `visualize_channels`, cached | {cached:.4f} | **{uncached / cached:.0f}×** faster | ≥ 50× |
| the plugin's whole run, cached (patches, notes, figures) | {rerun:.3f} | {uncached / rerun:.0f}× faster | |

{len(run.notes)} notes on the cached run; the last: "{run.notes[-1]}"
"""
    publish(HEADING, text, options.write)


if __name__ == "__main__":
    main()
