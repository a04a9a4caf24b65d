"""CPU benchmark of the relevance family against captum called directly, for equal work at a realistic size.

    python -m benchmarks.bench_relevance --repeat 3

Each method's `plugin.run` end to end (the image decoded, the shared pass, the map rendered) against captum's class
from the same file (decoded and prepared the same way) with the same settings (baselines, steps, internal batch
size, class), in interleaved rounds,
read as the median ratio of the pair timed in the same round (bench_methods.py's protocol). The networks are the size
an explanation really runs on, 224 px, where the model's passes are most of the time: DeepLift, DeepLiftShap,
Deconvolution and Layer Conductance on timm's `resnet18`, LRP on torchvision's `vgg11` (captum's LRP needs a plain
chain; its own tutorial uses VGG16). Both have random weights: a pass costs the same whatever the weights, and
timing needs no download.

Ours also runs the shared pass, one no-grad forward pass for the prediction and the class's probability (and the
"not the model's prediction" note), which captum's call with a given class leaves out; a caller of captum who explains
the predicted class runs it too. So the table gives a second ratio, against captum's time plus a no-grad forward pass
timed in the same round, and counts every forward pass each side runs (with the images in each), which no load on
the machine changes.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
from captum.attr import LRP, Deconvolution, DeepLift, DeepLiftShap, LayerConductance  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import IMAGE, interleaved, machine, median_ms, paired_ratio, timed  # noqa: E402
from registry.methods import INPUT_BASELINES, baseline  # noqa: E402

RESNET = "resnet18"
TARGET = 282  # tiger cat: any class will do on random weights, the same on both sides


def networks() -> tuple[registry.Backbone, registry.Backbone]:
    """(timm resnet18, torchvision vgg11), random weights (seeded), 224 px, ImageNet's classes, on the CPU."""
    import torchvision  # lazy: only this benchmark needs it

    resnet = registry.load_backbone(RESNET, device="cpu", weights=registry.RANDOM)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = torchvision.models.vgg11(weights=None)
    vgg = registry.wrap_model(model, "vgg11", labels=resnet.labels, device="cpu", untrained=True)
    return resnet, vgg


def peers(resnet: registry.Backbone, vgg: registry.Backbone) -> dict[str, Callable[[], object]]:
    """captum's own call for each method with the plugin's default settings, from the image file as ours is (decoded
    and prepared by the backbone, the baselines built from it): equal work but for drawing the map."""
    _name, module = registry.get_plugin("layer_conductance").resolve_layer(resnet, None)

    def prepared(on: registry.Backbone) -> torch.Tensor:
        return on.prepare(str(IMAGE))[0]

    def deeplift() -> object:
        x = prepared(resnet)
        return DeepLift(resnet.model).attribute(x, baselines=baseline(resnet, x, "blurred"), target=TARGET)

    def deeplift_shap() -> object:
        x = prepared(resnet)
        references = torch.cat([baseline(resnet, x, kind) for kind in INPUT_BASELINES])
        return DeepLiftShap(resnet.model).attribute(x, baselines=references, target=TARGET)

    def layer_conductance() -> object:
        x = prepared(resnet)
        return LayerConductance(resnet.model, module).attribute(
            x, baselines=baseline(resnet, x, "blurred"), target=TARGET, n_steps=16, internal_batch_size=8
        )

    return {
        "deeplift": deeplift,
        "deeplift_shap": deeplift_shap,
        "deconvolution": lambda: Deconvolution(resnet.model).attribute(prepared(resnet), target=TARGET),
        "layer_conductance": layer_conductance,
        "lrp": lambda: LRP(vgg.model).attribute(prepared(vgg), target=TARGET),
    }


def passes(model: torch.nn.Module, call: Callable[[], object]) -> list[int]:
    """The batch size of every forward pass of `model` that `call` runs: the work, counted rather than timed."""
    seen: list[int] = []
    handle = model.register_forward_hook(lambda _module, inputs, _output: seen.append(len(inputs[0])))
    try:
        call()
    finally:
        handle.remove()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    began = time.perf_counter()
    resnet, vgg = networks()
    calls = peers(resnet, vgg)
    ours = {
        name: lambda plugin=registry.get_plugin(name), on=(vgg if name == "lrp" else resnet): plugin.run(
            on, str(IMAGE), target=TARGET
        )
        for name in calls
    }
    cases: dict[str, Callable[[], float]] = {}
    for name, call in calls.items():
        cases[f"ours {name}"], cases[f"captum {name}"] = timed(ours[name]), timed(call)
    for on in (resnet, vgg):  # what the prediction costs: one no-grad forward pass of the prepared image
        x = on.prepare(str(IMAGE))[0]
        cases[f"forward {on.name}"] = timed(lambda on=on, x=x: _forward(on, x))
    times = interleaved(cases, args.repeat, args.warmup)
    print(f"- Machine: {machine()}")
    print(
        f"- `{RESNET}` (timm) and `vgg11` (torchvision), random weights, 224 px, `{IMAGE.name}`, class {TARGET}; "
        f"{args.warmup} warm-up, {args.repeat} interleaved rounds; run took {time.perf_counter() - began:.0f} s; "
        f"load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end\n"
    )
    print(
        "| method | network | ours, median ms | captum, median ms | ours / captum (median, 25-75 %) "
        "| ours / (captum + one forward) | forward passes (images each): ours; captum |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    for name in calls:
        on = vgg if name == "lrp" else resnet
        mine, theirs, forward = times[f"ours {name}"], times[f"captum {name}"], times[f"forward {on.name}"]
        ratio, low, high = paired_ratio(mine, theirs)
        priced, priced_low, priced_high = paired_ratio(mine, [a + b for a, b in zip(theirs, forward)])
        counted = f"{passes(on.model, ours[name])}; {passes(on.model, calls[name])}"
        print(
            f"| {name} | {on.name} | {median_ms(mine):.0f} | {median_ms(theirs):.0f} | "
            f"{ratio:.2f} ({low:.2f}-{high:.2f}) | {priced:.2f} ({priced_low:.2f}-{priced_high:.2f}) | {counted} |"
        )
    for on in (resnet, vgg):
        print(f"\nOne no-grad forward pass of {on.name}: {median_ms(times[f'forward {on.name}']):.0f} ms (median).")


def _forward(backbone: registry.Backbone, x: torch.Tensor) -> None:
    with torch.no_grad():
        backbone.model(x)


if __name__ == "__main__":
    main()
