"""How close each map method is to independent code: the figures behind the agreement tests.

    python -m benchmarks.bench_agreement            # print the tables (markdown)
    python -m benchmarks.bench_agreement --write    # ... and put them in benchmarks/RESULTS.md

The tests assert floors (r > 0.95); this prints the correlations themselves. Every CAM method
against the pytorch-grad-cam package on the same model, layer, class and input: a ResNet and a
ConvNeXt with seeded random weights, the default backbone with its real weights, a ViT with the
package's documented token reshape; each at its default layer and an earlier one. Score-CAM and
Ablation-CAM score every channel here, as the package does. Then Integrated Gradients'
completeness: how far the attributions' sum is from the score difference to the baseline.
Correctness, not speed: it may run on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CNNLENS_TIME_BUDGET", "3600")  # every channel of Score-CAM and Ablation-CAM, on purpose
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
from pytorch_grad_cam import (  # noqa: E402
    AblationCAM,
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import IMAGE, machine, pearson  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from testkit.cam_cases import CASES as CNN_CASES  # noqa: E402
from testkit.transformers import tokens_to_maps, transformer  # noqa: E402

HEADING = "## Agreement with independent code (bench_agreement.py)"
PACKAGE = {
    "gradcam": GradCAM,
    "gradcam_plusplus": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
    "scorecam": ScoreCAM,
    "ablationcam": AblationCAM,
}
EVERY_CHANNEL = {"scorecam": {"channels": 4096}, "ablationcam": {"channels": 4096}}
GRADIENT_ONLY = ("gradcam", "gradcam_plusplus", "xgradcam", "hirescam", "layercam")  # the ViT rows
CASES = [
    *CNN_CASES,  # the suite's three CNNs at two layers each, then a transformer's token layers
    ("vit_tiny_patch16_224", None),
    ("vit_tiny_patch16_224", "middle"),
]


def backbone_for(name: str) -> registry.Backbone:
    if name == registry.DEFAULT_BACKBONE:
        return registry.load_backbone(name, device="cpu")
    if name.startswith("vit_"):
        return transformer("vit")
    torch.manual_seed(0)
    return registry.Backbone(name, timm.create_model(name), torch.device("cpu"), "seeded random", True)


def package_map(method: type, backbone: registry.Backbone, layer: str, target: int) -> np.ndarray:
    x, _ = backbone.prepare(IMAGE)
    _, module = backbone.module(layer)
    reshape = tokens_to_maps(backbone.model) if backbone.name.startswith("vit_") else None
    with method(model=backbone.model, target_layers=[module], reshape_transform=reshape) as cam:
        cam.batch_size = 16
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]


def agreeing(ours: np.ndarray, theirs: np.ndarray) -> str:
    """Pearson r as text, or "both blank" when neither map has any heat (a random model's class may have
    no positive evidence at a layer: then both sides must say so)."""
    flat = [float(np.ptp(m)) < 1e-6 for m in (ours, theirs)]
    if all(flat):
        return "both blank"
    if any(flat):
        return "ours blank" if flat[0] else "theirs blank"
    return f"{pearson(ours, theirs):.4f}"


def package_projection(backbone: registry.Backbone, layer: str, size: tuple[int, int]) -> list[np.ndarray]:
    """The package's first principal component of the layer (its EigenCAM before the ReLU), with either sign."""
    x, _ = backbone.prepare(IMAGE)
    _, module = backbone.module(layer)
    with EigenCAM(model=backbone.model, target_layers=[module]) as cam:
        cam.activations_and_grads(x)
        activations = cam.activations_and_grads.activations[0].numpy()
    projection = torch.from_numpy(get_2d_projection(activations))[0]
    # The package's EigenCAM keeps the positive part at the layer's resolution, then resizes: so do we here.
    return [registry.methods.normalize(torch.relu(sign * projection), size, signed=False) for sign in (1, -1)]


def agreement() -> dict[tuple[str, str], dict[str, str]]:
    """(backbone, layer) → method → Pearson r of our map and the package's (see `agreeing`). Eigen-CAM's principal
    component has no sign of its own: its r is against the package's component with the better sign
    (the tests check that ours takes the sign that is positive where the layer is active)."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for name, depth in CASES:
        backbone = backbone_for(name)
        layer = backbone.suggested_layer(depth) if depth == "middle" else depth
        target = backbone.predict(IMAGE, k=1)[0][0]
        row: dict[str, str] = {}
        for method in GRADIENT_ONLY if name.startswith("vit_") else PACKAGE:
            ours = registry.get_plugin(method).run(
                backbone, IMAGE, target=target, layer=layer, **EVERY_CHANNEL.get(method, {})
            )
            if method == "eigencam":  # the package's component with the sign nearer ours
                theirs = max(
                    package_projection(backbone, ours.layer.name, ours.heatmap.shape),
                    key=lambda candidate: pearson(ours.heatmap, candidate),
                )
            else:
                theirs = package_map(PACKAGE[method], backbone, ours.layer.name, target)
            row[method] = agreeing(ours.heatmap, theirs)
        table[(name, layer or f"{backbone.default_layer} (default)")] = row
        print(name, layer, row, flush=True)
    return table


def completeness() -> list[tuple[str, int, float, float, float]]:
    """Integrated Gradients on the default backbone: (baseline, steps, sum of attributions, score difference, gap %)."""
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    plugin = registry.get_plugin("integrated_gradients")
    rows = []
    for baseline in ("black", "blurred", "noise"):
        for steps in (32, 128):
            result = plugin.run(backbone, IMAGE, steps=steps, baseline=baseline, sign="all")
            note = next(note for note in result.notes if note.startswith("Convergence delta"))
            _delta, total, difference = (float(v) for v in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", note)[:3])
            rows.append((baseline, steps, total, difference, 100 * abs(total - difference) / abs(difference)))
    return rows


def report(table: dict, ig: list, seconds: float, command: str) -> str:
    methods = list(PACKAGE)
    out = [
        HEADING,
        "",
        f"- Machine: {machine()}",
        f"- `examples/cat.png`, each backbone's top-1 class; ours `plugin.run` against pytorch-grad-cam "
        f"{_version('grad-cam')} on the same model object. Run took {seconds:.0f} s. Command: `{command}`",
        "",
        "Pearson r of the two maps (— where the package has no such case for it):",
        "",
        "| backbone, layer | " + " | ".join(methods) + " |",
        "|---|" + "---:|" * len(methods),
    ]
    for (name, layer), row in table.items():
        out.append(f"| {name}, `{layer}` | " + " | ".join(row.get(m, "—") for m in methods) + " |")
    out += [
        "",
        "Score-CAM and Ablation-CAM here score every channel, as the package does. The package's Ablation-CAM "
        "ablates a channel with 0 only where the layer's minimum is 0 (a ReLU-like output); elsewhere it writes the "
        "layer's minimum less 10^7, departing from the paper (its comment says so). Ours always ablates with 0, as "
        "the paper does, so the two agree on ReLU-like layers and differ on the others (EfficientNet's `blocks.4` "
        "residual sum, ConvNeXt's stages).",
        "",
        "Integrated Gradients' completeness on the default backbone (sum of attributions against the class score's "
        "difference from the baseline; the axiom says equal):",
        "",
        "| baseline | steps | sum of attributions | score difference | gap |",
        "|---|---:|---:|---:|---:|",
    ]
    out += [f"| {b} | {s} | {t:.3f} | {d:.3f} | {g:.1f} % |" for b, s, t, d, g in ig]
    return "\n".join(out) + "\n"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="also put the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    table, ig = agreement(), completeness()
    command = "python -m benchmarks.bench_agreement " + " ".join(sys.argv[1:])
    text = report(table, ig, time.perf_counter() - started, command.strip())
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
