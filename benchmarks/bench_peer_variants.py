"""CPU benchmark of the methods taken from torch-cam 0.5 and pytorch-grad-cam 1.5.7 in issue 43 against those peers,
for equal work: SS-CAM and IS-CAM scoring every channel of a 24-channel layer with the same samples and batch,
Smooth Grad-CAM++ with the same noisy samples, Deep Feature Factorization with the same concepts, LeGrad over every
block of a ViT (ours on timm's model, torch-cam's on torchvision's ViT carrying the same weights: it reads only
torchvision's attention modules).

    python -m benchmarks.bench_peer_variants            # print the results (markdown)
    python -m benchmarks.bench_peer_variants --write    # ... and put them in benchmarks/RESULTS.md

bench_methods.py's protocol: cases interleaved (order rotated each round) and each method read as the RATIO of
ours to its peer timed in the same round. Both go from the image file to a picture: ours is a whole `plugin.run`
(preparing the image, the shared pass, rendering its pictures); the peer's time includes preparing the image, the
forward pass it needs to hook the layer and drawing its map with its own overlay function.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CNNLENS_TIME_BUDGET", "3600")
warnings.filterwarnings("ignore")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import BACKBONE, IMAGE, interleaved, machine, median_ms, paired_ratio  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from testkit.transformers import BUILD  # noqa: E402

HEADING = "## Methods from torch-cam and pytorch-grad-cam, against them (bench_peer_variants.py)"
SCORED = "blocks.1"  # 24 channels: every one scored on both sides, in seconds
SAMPLES, BATCH, CONCEPTS = 2, 8, 4
VIT = BUILD["vit"][0]  # seeded random weights: the work, not the map, is timed
NOTE = (
    "Equal work, from the image file to a picture: the same masked or noisy passes on both sides (SS-CAM and IS-CAM "
    "skip torch-cam's pass of the blank image, which a softmax cancels); each side decodes and prepares the image "
    "(the peers through the backbone's own preprocessing) and draws its map its own way (torch-cam's `overlay_mask`, "
    "pytorch-grad-cam's `show_factorization_on_image`; ours the overlay, the raw map and, for DFF, a tile per "
    "concept). Ours also runs the shared pass. Smooth Grad-CAM++ runs one noisy sample a pass here, as the peer does "
    "(its default batch is 4). LeGrad: one forward pass with the attention maps kept and a backward per block on "
    "both sides."
)


def cases(backbone: registry.Backbone) -> dict[str, tuple]:
    """name → (our case, the peer's case, what the peer is), each case returning its seconds."""
    import torchcam.methods
    from pytorch_grad_cam import DeepFeatureFactorization
    from pytorch_grad_cam.utils.image import show_factorization_on_image

    x, _ = backbone.prepare(str(IMAGE))
    target = int(backbone.probabilities(x).argmax())
    final = backbone.default_layer
    shape = tuple(x.shape[1:])
    del x  # each peer's case prepares its own input from the file, as ours does

    def ours(name: str, **settings):
        plugin = registry.get_plugin(name)

        def run() -> float:
            started = time.perf_counter()
            plugin.run(backbone, str(IMAGE), target=target, **settings)
            return time.perf_counter() - started

        return run

    def peer_cam(method: str, layer: str, needs_scores: bool, **settings):
        def run() -> float:
            started = time.perf_counter()
            x, picture = backbone.prepare(str(IMAGE))
            with getattr(torchcam.methods, method)(backbone.model, layer, input_shape=shape, **settings) as cam:
                with torch.set_grad_enabled(needs_scores):
                    scores = backbone.model(x)
                maps = cam(class_idx=target, scores=scores if needs_scores else None)
            torchcam_picture(picture, maps[0])
            return time.perf_counter() - started

        return run

    def dff() -> float:
        started = time.perf_counter()
        x, picture = backbone.prepare(str(IMAGE))
        peer = DeepFeatureFactorization(
            backbone.model, backbone.module(final)[1], computation_on_concepts=backbone.model.get_classifier()
        )
        _, explanations, _ = peer(x, n_components=CONCEPTS)
        peer.activations_and_grads.release()
        shown = np.asarray(picture, dtype=np.float32) / 255
        show_factorization_on_image(shown, explanations[0], colors=RAINBOW, image_weight=0.3)
        return time.perf_counter() - started

    return {
        "legrad": legrad_cases(),
        "sscam": (
            ours("sscam", layer=SCORED, channels=4096, samples=SAMPLES, batch_size=BATCH),
            peer_cam("SSCAM", SCORED, False, num_samples=SAMPLES, batch_size=BATCH),
            "torch-cam SSCAM",
        ),
        "iscam": (
            ours("iscam", layer=SCORED, channels=4096, samples=SAMPLES, batch_size=BATCH),
            peer_cam("ISCAM", SCORED, False, num_samples=SAMPLES, batch_size=BATCH),
            "torch-cam ISCAM",
        ),
        "smoothgradcam_plusplus": (
            ours("smoothgradcam_plusplus", samples=4, batch_size=1),
            peer_cam("SmoothGradCAMpp", final, True, num_samples=4),
            "torch-cam SmoothGradCAMpp",
        ),
        "deep_feature_factorization": (
            ours("deep_feature_factorization", concepts=CONCEPTS),
            dff,
            "pytorch-grad-cam DeepFeatureFactorization",
        ),
    }


def legrad_cases() -> tuple:
    """(ours, the peer's, what the peer is) for LeGrad on `VIT`, every block on both sides."""
    from torchcam.methods import LeGrad

    from testkit.transformers import torchvision_twin, transformer

    vit = transformer("vit")
    twin = torchvision_twin(vit.model)
    target = int(vit.probabilities(vit.prepare(str(IMAGE))[0]).argmax())
    plugin = registry.get_plugin("legrad")

    def ours() -> float:
        started = time.perf_counter()
        plugin.run(vit, str(IMAGE), target=target)
        return time.perf_counter() - started

    def peer() -> float:
        started = time.perf_counter()
        x, picture = vit.prepare(str(IMAGE))
        with LeGrad(twin, list(twin.encoder.layers)) as cam:
            twin(x)
            maps = cam(target)
        torchcam_picture(picture, maps[0])
        return time.perf_counter() - started

    return ours, peer, "torch-cam LeGrad (torchvision twin)"


# pytorch-grad-cam's own default colours for DFF's concepts, given: its default looks them up through
# matplotlib.cm.get_cmap, which matplotlib 3.9 removed.
RAINBOW = [np.array(matplotlib.colormaps["gist_rainbow"](i / CONCEPTS)) for i in range(CONCEPTS)]


def torchcam_picture(picture, heatmap: torch.Tensor):
    """The map drawn over the picture the way torch-cam's README does (`overlay_mask`): the peer's own rendering."""
    from torchcam.utils import overlay_mask
    from torchvision.transforms.functional import to_pil_image

    return overlay_mask(picture, to_pil_image(heatmap.squeeze(0).detach(), mode="F"), alpha=0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="also put the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    backbone = registry.load_backbone(BACKBONE, device="cpu")
    found = cases(backbone)
    flat = {
        f"{name}:{side}": pair[index] for name, pair in found.items() for index, side in enumerate(("ours", "peer"))
    }
    times = interleaved(flat, args.repeat, args.warmup)
    rows = []
    for name, (_, _, peer) in found.items():
        ratio, low, high = paired_ratio(times[f"{name}:ours"], times[f"{name}:peer"])
        rows.append(
            f"| {name} | {peer} | {median_ms(times[f'{name}:ours']):.0f} | {median_ms(times[f'{name}:peer']):.0f} "
            f"| {ratio:.2f} ({low:.2f}-{high:.2f}) |"
        )
    workload = (
        f"- Workload: `{BACKBONE}`, `{IMAGE.name}`, its top class; SS-CAM / IS-CAM every channel of `{SCORED}`, "
        f"{SAMPLES} samples, batch {BATCH} on both sides; Smooth Grad-CAM++ 4 samples at the default layer; "
        f"DFF {CONCEPTS} concepts at the default layer; LeGrad every block of `{VIT}` (seeded random weights). "
        f"{args.warmup} warm-up, {args.repeat} interleaved rounds; "
        f"run took {time.perf_counter() - started:.0f} s. Command: `python -m benchmarks.bench_peer_variants "
        f"--repeat {args.repeat} --warmup {args.warmup} --write`"
    )
    table = (
        "| method | peer | ours, median ms | peer, median ms | ours / peer (median, 25-75 %) |\n"
        + "|---|---|"
        + "---:|" * 3
    )
    publish(
        HEADING, "\n".join([HEADING, "", f"- Machine: {machine()}", workload, "", table, *rows, "", NOTE]), args.write
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
