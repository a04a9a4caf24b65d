"""CPU benchmark of the relevance family against captum called directly, for equal work.

    python -m benchmarks.bench_relevance

Each method's `plugin.run` end to end (the image decoded, the map rendered) against captum's class on the prepared
tensor with the same settings, interleaved rounds, read as the median ratio of the pair timed in the same round.
DeepLift, DeepLiftShap, Deconvolution and Layer Conductance run on timm's tiny test_resnet, LRP on the tiny VGG-like
chain of registry.testing (captum's LRP needs a plain chain; test_resnet has skip connections).
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
from captum.attr import LRP, Deconvolution, DeepLift, DeepLiftShap, LayerConductance  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import IMAGE, interleaved, machine, paired_ratio, timed  # noqa: E402
from registry.methods import INPUT_BASELINES, baseline  # noqa: E402
from registry.testing import chain_backbone, default_backbone  # noqa: E402


def peers(backbone: registry.Backbone, chain: registry.Backbone, target: int) -> dict[str, Callable[[], object]]:
    """captum's own call for each method, on the prepared tensor, with the plugin's default settings."""
    x, small = backbone.prepare(str(IMAGE))[0], chain.prepare(str(IMAGE))[0]
    blurred = baseline(backbone, x, "blurred")
    references = torch.cat([baseline(backbone, x, kind) for kind in INPUT_BASELINES])
    _name, module = registry.get_plugin("layer_conductance").resolve_layer(backbone, None)
    return {
        "deeplift": lambda: DeepLift(backbone.model).attribute(x, baselines=blurred, target=target),
        "deeplift_shap": lambda: DeepLiftShap(backbone.model).attribute(x, baselines=references, target=target),
        "deconvolution": lambda: Deconvolution(backbone.model).attribute(x, target=target),
        "layer_conductance": lambda: LayerConductance(backbone.model, module).attribute(
            x, baselines=blurred, target=target, n_steps=16, internal_batch_size=8
        ),
        "lrp": lambda: _lrp(chain, small, target),
    }


def _lrp(chain: registry.Backbone, x: torch.Tensor, target: int) -> torch.Tensor:
    """captum's LRP with captum's IdentityRule-style pass-through on the chain's nn.Flatten (it refuses it bare)."""
    from registry.methods import identity_rules

    with identity_rules(chain.model):
        return LRP(chain.model).attribute(x, target=target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    backbone, chain, target = default_backbone(), chain_backbone(), 282
    cases: dict[str, Callable[[], float]] = {}
    for name, call in peers(backbone, chain, target).items():
        on = chain if name == "lrp" else backbone
        plugin = registry.get_plugin(name)
        cases[f"ours {name}"] = timed(lambda plugin=plugin, on=on: plugin.run(on, str(IMAGE), target=target))
        cases[f"captum {name}"] = timed(call)
    times = interleaved(cases, args.repeat, args.warmup)
    print(f"- Machine: {machine()}\n- {args.repeat} interleaved rounds, {args.warmup} warm-up\n")
    print("| method | ours / captum (median, 25-75 %) |\n|---|---:|")
    for name in peers(backbone, chain, target):
        ratio, low, high = paired_ratio(times[f"ours {name}"], times[f"captum {name}"])
        print(f"| {name} | {ratio:.2f} ({low:.2f}-{high:.2f}) |")


if __name__ == "__main__":
    main()
