"""CPU benchmark of the shared pass and `registry.compare` against their floors and the peers.

    python -m benchmarks.bench_compare              # print the section (markdown)
    python -m benchmarks.bench_compare --write      # ... and replace its section in RESULTS.md
    python -m benchmarks.bench_compare --repeat 20  # rounds (default 20)

Every ratio is the median of per-round ratios of two cases timed moments apart, in rotating
order, after warm-up (see bench_plugins.py): absolute times on a shared 2-core machine drift,
ratios measured in one run do not.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import IMAGE, interleaved, machine, median_ms, paired_ratio, quartiles  # noqa: E402
from benchmarks.results import publish  # noqa: E402

HEADING = "## Compare and the shared pass"
LITES = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
SEEDS = ("feature_maps", "gradcam", "saliency")


def in_process_cases(image) -> dict:
    """Every case of the in-process targets; each returns the seconds it took."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    lite0 = registry.load_backbone(LITES[0], device="cpu")
    backbones = [registry.load_backbone(name, device="cpu") for name in LITES]
    plugins = {name: registry.get_plugin(name) for name in SEEDS}
    target = lite0.predict(image, k=1)[0][0]
    # pytorch-grad-cam on its own copy of the model (its hooks stay registered while it lives)
    theirs_model = copy.deepcopy(lite0.model)
    _, layer = lite0.module(None)
    theirs = GradCAM(model=theirs_model, target_layers=[dict(theirs_model.named_modules())[lite0.default_layer]])
    del layer

    def timed(fn):
        def case() -> float:
            started = time.perf_counter()
            fn()
            return time.perf_counter() - started

        return case

    def floor_forward():
        x, _ = lite0.prepare(image)
        with torch.no_grad():
            lite0.model(x)

    def floor_saliency():
        x, _ = lite0.prepare(image)
        x.requires_grad_(True)
        torch.autograd.grad(lite0.model(x)[0, target], x)

    return {
        "floor: prepare + no-grad forward": timed(floor_forward),
        "floor: prepare + forward + backward to the input": timed(floor_saliency),
        "gradcam plugin.run": timed(lambda: plugins["gradcam"].run(lite0, image)),
        "saliency plugin.run": timed(lambda: plugins["saliency"].run(lite0, image)),
        "pytorch-grad-cam GradCAM (same prepare)": timed(
            lambda: theirs(input_tensor=lite0.prepare(image)[0], targets=[ClassifierOutputTarget(target)])
        ),
        "compare: 3 seed maps, 1 backbone": timed(lambda: registry.compare(image, plugins=list(SEEDS)).figure),
        "9 single plugin.run (3 seeds x 3 backbones)": timed(
            lambda: [plugins[p].run(b, image) for b in backbones for p in SEEDS]
        ),
        "compare: 3 seed maps x 3 backbones": timed(
            lambda: registry.compare(image, backbones=list(LITES), plugins=list(SEEDS)).figure
        ),
    }


def round_trip_cases(image_path: Path) -> tuple[dict, object]:
    """/compare through gradio_client against the same call in Python (Backbones preset: 3 x 3 maps)."""
    from gradio_client import Client, handle_file

    from testkit.server import running_app

    server = running_app(extra_env={"CNNLENS_DEVICE": "cpu"})
    url = server.__enter__().url
    client = Client(url, verbose=False)
    picture = registry.load_image(image_path)

    def through_app() -> float:
        started = time.perf_counter()
        client.predict(
            handle_file(str(image_path)),
            list(LITES),
            list(SEEDS),
            ["predicted (top-1)"],
            ["default"],
            False,
            api_name="/compare",
        )
        return time.perf_counter() - started

    def in_python() -> float:
        started = time.perf_counter()
        _ = registry.compare(picture, backbones=list(LITES), plugins=list(SEEDS)).figure  # the lazy figure is drawn
        return time.perf_counter() - started

    return {"compare via gradio_client (3 x 3 maps)": through_app, "compare in Python (3 x 3 maps)": in_python}, server


def report(samples: dict, repeat: int, seconds: float) -> str:
    rows = ["| case | median ms | 25-75 % ms |", "|---|---:|---:|"]
    for name, values in samples.items():
        low, high = quartiles(values)
        rows.append(f"| {name} | {median_ms(values):.1f} | {low * 1000:.1f}-{high * 1000:.1f} |")
    targets = [
        (
            "Grad-CAM `plugin.run` / (prepare + no-grad forward)",
            "gradcam plugin.run",
            "floor: prepare + no-grad forward",
            "≤ 1.4",
        ),
        (
            "Saliency `plugin.run` / (prepare + forward + input backward)",
            "saliency plugin.run",
            "floor: prepare + forward + backward to the input",
            "≤ 1.3",
        ),
        (
            "compare, 3 seed maps on 1 backbone / saliency `plugin.run`",
            "compare: 3 seed maps, 1 backbone",
            "saliency plugin.run",
            "≤ 1.3",
        ),
        (
            "compare, 3 seeds × 3 backbones / the 9 single runs",
            "compare: 3 seed maps x 3 backbones",
            "9 single plugin.run (3 seeds x 3 backbones)",
            "≤ 0.6",
        ),
        (
            "pytorch-grad-cam GradCAM / our Grad-CAM `plugin.run`",
            "pytorch-grad-cam GradCAM (same prepare)",
            "gradcam plugin.run",
            "≥ 2",
        ),
        (
            "compare through the app (gradio_client) / in Python",
            "compare via gradio_client (3 x 3 maps)",
            "compare in Python (3 x 3 maps)",
            "≤ 1.3",
        ),
    ]
    ratio_rows = ["| ratio | median | 25-75 % | target |", "|---|---:|---:|---|"]
    for label, a, b, goal in targets:
        if a in samples and b in samples:
            median, low, high = paired_ratio(samples[a], samples[b])
            ratio_rows.append(f"| {label} | {median:.2f} | {low:.2f}-{high:.2f} | {goal} |")
    return "\n".join(
        [
            HEADING,
            "",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}",
            "- Workload: `examples/cat.png` decoded once to a PIL image (the app's round trip uploads the file); the "
            "default "
            f"backbone `{LITES[0]}` and the three packaged lites; {repeat} interleaved rounds after warm-up; whole "
            f"run {seconds:.0f} s.",
            f"- Command: `python -m benchmarks.bench_compare --repeat {repeat} --write`",
            "",
            *rows,
            "",
            *ratio_rows,
            "",
            "The floors are what no implementation can skip: preparing the image and the forward pass (plus, for "
            "saliency, "
            "the backward to the input). pytorch-grad-cam runs on its own copy of the same model with the same "
            "preprocessing; "
            "its `loss.backward()` also computes every parameter's gradient, while the shared pass asks autograd only "
            "for "
            "the layer (or input) gradients the maps read. The app round trip includes the upload, the queue, "
            "encoding the "
            "figure and the `.npz` and downloading them.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="replace this section of benchmarks/RESULTS.md")
    parser.add_argument("--no-app", action="store_true", help="skip the gradio_client round trip")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    started = time.perf_counter()
    image = registry.load_image(IMAGE)
    samples = interleaved(in_process_cases(image), args.repeat, args.warmup)
    if not args.no_app:
        cases, server = round_trip_cases(IMAGE)
        try:
            samples |= interleaved(cases, args.repeat, args.warmup)
        finally:
            server.__exit__(None, None, None)
    text = report(samples, args.repeat, time.perf_counter() - started)
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
