"""pytorch-grad-cam 1.5.7's remaining CAMs, ours against the package's for equal work (bench_methods.py's protocol:
cases interleaved, order rotated each round, each read as a ratio to the other timed in the same round).

    python -m benchmarks.bench_cam_variants [--repeat 5]

Ours is timed as a whole `Plugin.run` (decoding, preprocessing, rendering included); the package's from the
prepared tensor, so the ratio is conservative. Same model, layer, class and settings on both sides.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")

from pytorch_grad_cam import GradCAMPlusPlus, RandomCAM, ShapleyCAM  # noqa: E402
from pytorch_grad_cam.finer_cam import FinerCAM  # noqa: E402
from pytorch_grad_cam.refine_cam import RefineCAM  # noqa: E402
from pytorch_grad_cam.sess import SESS  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import BACKBONE, IMAGE, interleaved, machine, paired_ratio, pearson  # noqa: E402
from plugins.refine_cam import fused_layers  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    backbone = registry.load_backbone(BACKBONE, device="cpu")
    x, _ = backbone.prepare(IMAGE)
    target = backbone.predict(IMAGE, k=1)[0][0]
    final, middle = backbone.default_layer, backbone.suggested_layer("middle")
    modules = lambda layers: [backbone.module(layer)[1] for layer in layers]  # noqa: E731
    cases = {  # name → (our call's keywords, the package's CAM, its call)
        "shapley_cam": ({}, lambda: ShapleyCAM(backbone.model, modules([final])), {}),
        "finer_cam": ({}, lambda: FinerCAM(backbone.model, modules([final])), {"target_idx": target}),
        "random_cam": ({"seed": 5}, lambda: RandomCAM(backbone.model, modules([final])), {}),
        "refine_cam": (
            {"layer": middle},
            lambda: RefineCAM(backbone.model, modules(fused_layers(backbone, middle)), base_method=GradCAMPlusPlus),
            {},
        ),
        "sess": ({"scales": 2}, lambda: SESS(backbone.model, modules([final]), num_scales=2), {}),
    }
    maps: dict[str, tuple] = {}

    def ours(name: str, keywords: dict):
        def case() -> float:
            started = time.perf_counter()
            result = registry.get_plugin(name).run(backbone, IMAGE, target=target, **keywords)
            maps.setdefault(name, [None, None])[0] = result.raw
            return time.perf_counter() - started

        return case

    def theirs(name: str, make, call: dict):
        def case() -> float:
            cam = make()
            started = time.perf_counter()
            targets = None if name == "finer_cam" else [ClassifierOutputTarget(target)]
            result = cam(x, targets, **call)[0]
            seconds = time.perf_counter() - started
            for inner in getattr(cam, "base_cam_per_layer", None) or [getattr(cam, "base_cam", cam)]:
                for handle in inner.activations_and_grads.handles:
                    handle.remove()
                inner.activations_and_grads.handles.clear()
                inner.activations_and_grads.activations, inner.activations_and_grads.gradients = [], []
            maps.setdefault(name, [None, None])[1] = result
            return seconds

        return case

    timed = {}
    for name, (keywords, make, call) in cases.items():
        timed[f"{name} ours"] = ours(name, keywords)
        timed[f"{name} package"] = theirs(name, make, call)
    samples = interleaved(timed, repeat=args.repeat, warmup=1)
    print(f"{BACKBONE} on {IMAGE.name}, {machine()}, {args.repeat} rounds\n")
    print("| method | ours (ms) | pytorch-grad-cam (ms) | ours / theirs (median, 25-75 %) | Pearson r |")
    print("|---|---|---|---|---|")
    for name in cases:
        mine, package = samples[f"{name} ours"], samples[f"{name} package"]
        ratio, low, high = paired_ratio(mine, package)
        r = pearson(*maps[name]) if name != "random_cam" else float("nan")  # the package's RandomCAM is unseeded here
        print(
            f"| {name} | {sorted(mine)[len(mine) // 2] * 1000:.0f} | {sorted(package)[len(package) // 2] * 1000:.0f} "
            f"| {ratio:.2f} ({low:.2f}-{high:.2f}) | {r:.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
