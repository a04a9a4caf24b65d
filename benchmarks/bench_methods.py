"""CPU benchmark of the attribution methods: each plugin's time in no-grad forward passes, the two
slow methods against their peers, the Score-CAM channel cap's fidelity, peak memory, and the batch
size the looping methods are fastest at (which sets their defaults).

    python -m benchmarks.bench_methods                 # print the results (markdown)
    python -m benchmarks.bench_methods --write         # ... and put them in benchmarks/RESULTS.md

As in bench_plugins.py, cases are interleaved (order rotated each round) and every time is read
as a RATIO to a no-grad forward pass timed in the same round: on a shared machine absolute
milliseconds drift, ratios much less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CNNLENS_TIME_BUDGET", "3600")  # every channel of Score-CAM is timed on purpose
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import BACKBONE, IMAGE, ROOT, interleaved, machine, paired_ratio, pearson  # noqa: E402
from benchmarks.results import publish  # noqa: E402

HEADING = "## Attribution methods (bench_methods.py)"
DIRECT = "captum Occlusion called directly"
DIRECT_DEFAULT = "captum Occlusion, its default perturbations_per_eval=1"
SWEPT = {
    "occlusion": "batch_size",
    "scorecam": "batch_size",
    "ablationcam": "batch_size",
    "integrated_gradients": "internal_batch_size",
}
BATCHES = (1, 2, 4, 8, 16)
SUPERPIXEL_METHODS = {  # plugin → captum class, for the same work called directly
    "lime": "Lime",
    "kernel_shap": "KernelShap",
    "feature_ablation": "FeatureAblation",
    "shapley_sampling": "ShapleyValueSampling",
}
SAMPLES = ("cat", "coffee", "rocket", "camera-gray", "astronaut")

PEAK = r"""
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import registry
def rss(field):
    return int(next(l for l in open("/proc/self/status") if l.startswith(field)).split()[1]) / 1024
backbone = registry.load_backbone(%(backbone)r, device="cpu")
plugin = registry.get_plugin(%(plugin)r)
registry.get_plugin("gradcam").run(backbone, %(image)r)      # warm: allocator pools, lazy imports
before = rss("VmRSS")
open("/proc/self/clear_refs", "w").write("5")             # reset the peak (VmHWM) to the current RSS
plugin.run(backbone, %(image)r)
print(json.dumps({"before_mib": before, "peak_mib": rss("VmHWM")}))
"""


def peak_memory(plugin: str) -> dict:
    """Peak resident memory of one `plugin.run` in a fresh process, and the RSS just before it."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK % {"backbone": BACKBONE, "plugin": plugin, "image": str(IMAGE)}],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, CNNLENS_DEVICE="cpu"),
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def count_images(model: torch.nn.Module, call: Callable[[], object]) -> int:
    """Images that went through the model during `call`: the work, counted rather than timed."""
    seen: list[int] = []
    handle = model.register_forward_hook(lambda _module, inputs, _output: seen.append(inputs[0].shape[0]))
    try:
        call()
    finally:
        handle.remove()
    return sum(seen)


def outside_model(model: torch.nn.Module, case: Callable[[], float]) -> Callable[[], float]:
    """`case`'s seconds less the time spent inside the model's forward: what a wrapper adds around it."""

    def timed() -> float:
        inside = [0.0]
        entered: list[float] = []
        handles = [
            model.register_forward_pre_hook(lambda *_: entered.append(time.perf_counter())),
            model.register_forward_hook(
                lambda *_: inside.__setitem__(0, inside[0] + time.perf_counter() - entered.pop())
            ),
        ]
        try:
            return case() - inside[0]
        finally:
            for handle in handles:
                handle.remove()

    return timed


def batch_sweep(backbone: registry.Backbone, image: str, repeat: int) -> dict[str, dict[int, float]]:
    """Median seconds of each looping method at several batch sizes, interleaved: where its default comes from."""

    def case(plugin: registry.Plugin, param: str, size: int) -> Callable[[], float]:
        def timed() -> float:
            started = time.perf_counter()
            plugin.run(backbone, image, **{param: size})
            return time.perf_counter() - started

        return timed

    found = {}
    for name, param in SWEPT.items():
        times = interleaved({str(size): case(registry.get_plugin(name), param, size) for size in BATCHES}, repeat, 1)
        found[name] = {size: statistics.median(times[str(size)]) for size in BATCHES}
    return found


def superpixel_pairs(backbone: registry.Backbone, image: str, rounds: int) -> dict:
    """Each superpixel method's `plugin.run` at its defaults against its captum class called directly on the
    prepared tensor with the same regions, baseline, seed, samples and perturbations_per_eval: equal work."""
    import captum.attr

    from registry.methods import seeded, superpixel_mask

    x, view = backbone.prepare(image)
    target = int(backbone.probabilities(x).argmax())
    found = {}
    for name, cls in SUPERPIXEL_METHODS.items():
        plugin = registry.get_plugin(name)
        settings = {p.name: p.default for p in plugin.params}
        mask = superpixel_mask(view, settings["superpixels"], tuple(x.shape[-2:]))
        reference = x.mean(dim=(2, 3), keepdim=True).expand_as(x).contiguous()
        extra = plugin.options()

        def ours(plugin: registry.Plugin = plugin) -> float:
            started = time.perf_counter()
            plugin.run(backbone, image)
            return time.perf_counter() - started

        def direct(cls: str = cls, settings: dict = settings, mask=mask, reference=reference, extra=extra) -> float:
            sampled = {"n_samples": settings["samples"]} if "samples" in settings else {}
            started = time.perf_counter()
            with seeded(x.device, settings.get("seed", 0)):
                getattr(captum.attr, cls)(backbone.model, **extra).attribute(
                    x,
                    baselines=reference,
                    target=target,
                    feature_mask=mask,
                    perturbations_per_eval=settings["batch_size"],
                    **sampled,
                )
            return time.perf_counter() - started

        times = interleaved({"ours": ours, "captum": direct}, rounds, 1)
        found[name] = {
            "captum": cls,
            "regions": int(mask.max()) + 1,
            "settings": settings,
            "times": times,
            "images": {
                "ours": count_images(backbone.model, ours),
                "captum": count_images(backbone.model, direct),
            },
        }
    return found


def superpixel_report(found: dict, rounds: int) -> str:
    """The paragraph on the superpixel methods, ours / captum's for equal work."""
    lines = [
        f"Superpixel methods at their defaults, ours `plugin.run` end to end / the captum class called directly on the "
        f"prepared tensor with the same SLIC regions, mean-colour baseline, seed, samples and perturbations_per_eval "
        f"({rounds} interleaved rounds, 1 warm-up):",
        "",
        "| method | regions, settings | ours s | captum s | ours / captum (median, 25-75 %) | images ours / captum |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, entry in found.items():
        times, images, settings = entry["times"], entry["images"], entry["settings"]
        ratio, low, high = paired_ratio(times["ours"], times["captum"])
        work = f"{entry['regions']} regions" + (f", {settings['samples']} samples" if "samples" in settings else "")
        lines.append(
            f"| {name} (`{entry['captum']}`) | {work}, batch {settings['batch_size']} | "
            f"{statistics.median(times['ours']):.2f} | {statistics.median(times['captum']):.2f} | "
            f"**{ratio:.2f}** ({low:.2f}-{high:.2f}) | {images['ours']} / {images['captum']} |"
        )
    return "\n".join(lines) + "\n"


def bench(
    repeat: int, warmup: int, fidelity_images: int, full_scorecam: bool, sweep: bool, occlusion_rounds: int
) -> dict:
    from captum.attr import Occlusion
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    backbone = registry.load_backbone(BACKBONE, device="cpu")
    model, image = backbone.model, str(IMAGE)
    x, _ = backbone.prepare(image)
    target = int(backbone.probabilities(x).argmax())
    layer_name, module = backbone.module(None)
    plugins = [p for p in registry.list_plugins() if p.refusal(backbone) is None]  # DeepLift, LRP: not on ReLU6
    occlusion = registry.get_plugin("occlusion")
    settings = {p.name: p.default for p in occlusion.params}

    def forward() -> float:
        started = time.perf_counter()
        with torch.no_grad():
            model(x)
        return time.perf_counter() - started

    def run(plugin: registry.Plugin) -> Callable[[], float]:
        def case() -> float:
            started = time.perf_counter()
            plugin.run(backbone, image)
            return time.perf_counter() - started

        return case

    def captum_occlusion(per_eval: int) -> Callable[[], float]:  # the plugin's window, stride and baseline
        def case() -> float:
            started = time.perf_counter()
            Occlusion(model).attribute(
                x,
                sliding_window_shapes=(3, settings["window"], settings["window"]),
                strides=(3, settings["stride"], settings["stride"]),
                baselines=0.0,
                target=target,
                perturbations_per_eval=per_eval,
            )
            return time.perf_counter() - started

        return case

    cases = {"forward pass, no grad": forward} | {f"plugin.run {p.name}": run(p) for p in plugins}
    cases[DIRECT] = captum_occlusion(settings["batch_size"])
    cases[DIRECT_DEFAULT] = captum_occlusion(1)
    samples = interleaved(cases, repeat, warmup)
    images = {
        "ours": count_images(model, lambda: occlusion.run(backbone, image)),
        "captum": count_images(model, lambda: cases[DIRECT]()),
    }
    pairs = interleaved(
        {
            "ours": run(occlusion),
            "captum": cases[DIRECT],
            "ours, outside the model": outside_model(model, run(occlusion)),
            "captum, outside the model": outside_model(model, cases[DIRECT]),
        },
        occlusion_rounds,
        1,
    )

    # Score-CAM against the grad-cam package: its ScoreCAM scores every channel; ours with the default cap,
    # and ours with every channel (the same work as the package), each next to a forward pass.
    def package_scorecam() -> tuple[float, np.ndarray]:
        with ScoreCAM(model=model, target_layers=[module]) as cam:
            cam.batch_size = 16
            started = time.perf_counter()
            out = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
            return time.perf_counter() - started, out

    scorecam = registry.get_plugin("scorecam")
    package_s, package_map = package_scorecam()
    package_forward = forward()
    started = time.perf_counter()
    full = scorecam.run(backbone, image, channels=4096) if full_scorecam else None
    full_s = time.perf_counter() - started
    full_forward = forward()
    started = time.perf_counter()
    if full_scorecam:  # the package's batch: the same settings, so only the work differs
        scorecam.run(backbone, image, channels=4096, batch_size=16)
    full16_s = time.perf_counter() - started
    full16_forward = forward()
    capped = scorecam.run(backbone, image)

    fidelity = {}
    for stem in SAMPLES[:fidelity_images]:
        path = ROOT / "examples" / (stem + (".jpg" if stem == "rocket" else ".png"))
        ours_capped = scorecam.run(backbone, path).heatmap
        ours_full = (
            full.heatmap
            if (stem == "cat" and full is not None)
            else scorecam.run(backbone, path, channels=4096).heatmap
        )
        fidelity[stem] = pearson(ours_capped, ours_full)

    return {
        "target": target,
        "label": backbone.labels[target],
        "layer": layer_name,
        "samples": samples,
        "scorecam": {
            "package_s": package_s,
            "package_forward_s": package_forward,
            "full_s": full_s,
            "full_forward_s": full_forward,
            "full16_s": full16_s,
            "full16_forward_s": full16_forward,
            "full_notes": full.notes if full is not None else [],
            "channels": backbone.layer_info(layer_name).channels,
            "agreement_full": pearson(full.heatmap, package_map) if full is not None else float("nan"),
            "agreement_capped": pearson(capped.heatmap, package_map),
            "notes": capped.notes,
        },
        "fidelity": fidelity,
        "occlusion": settings,
        "images": images,
        "pairs": pairs,
        "batch_sweep": batch_sweep(backbone, image, repeat) if sweep else {},
    }


def report(result: dict, memory: dict, slowest: str, repeat: int, warmup: int, seconds: float, command: str) -> str:
    s = result["samples"]
    out: list[str] = []
    add = out.append
    add(HEADING)
    add("")
    add(f"- Machine: {machine()}")
    add(
        f"- Workload: `{BACKBONE}`, `examples/cat.png`, class {result['target']} ({result['label']}), every plugin at "
        "its "
        f"defaults (layer methods at `{result['layer']}`); {warmup} warm-up call(s), {repeat} interleaved rounds. "
        f"Run took {seconds:.0f} s. Command: `{command}`"
    )
    add("")
    add("| method | median ms | ratio to one no-grad forward pass (median, 25-75 %) |")
    add("|---|---:|---:|")
    forward = s["forward pass, no grad"]
    rows = sorted((name for name in s if name.startswith("plugin.run")), key=lambda n: statistics.median(s[n]))
    for name in rows + [DIRECT, DIRECT_DEFAULT, "forward pass, no grad"]:
        ratio, low, high = paired_ratio(s[name], forward)
        add(f"| {name} | {statistics.median(s[name]) * 1000:.0f} | {ratio:.1f} ({low:.1f}-{high:.1f}) |")
    add("")
    settings, images = result["occlusion"], result["images"]
    ratio, low, high = paired_ratio(s["plugin.run occlusion"], s[DIRECT])
    add(
        f"Occlusion, ours `plugin.run` end to end (the image decoded, the map rendered) / captum's `Occlusion` on the "
        f"prepared tensor, same window {settings['window']}, stride {settings['stride']} and perturbations_per_eval "
        f"{settings['batch_size']}, same rounds: **{ratio:.2f}** ({low:.2f}-{high:.2f}). Images through the model: "
        f"ours {images['ours']}, captum {images['captum']} (captum's score of the unaltered image is our shared "
        "pass's)."
    )
    pairs = result["pairs"]
    ratio, low, high = paired_ratio(pairs["ours"], pairs["captum"])
    add(
        f"The same two alone, {len(pairs['ours'])} interleaved rounds: **{ratio:.3f}** ({low:.3f}-{high:.3f}); medians "
        f"{statistics.median(pairs['ours']):.2f} s and {statistics.median(pairs['captum']):.2f} s. Time outside the "
        f"model's forward passes: ours {statistics.median(pairs['ours, outside the model']) * 1000:.0f} ms, captum "
        f"{statistics.median(pairs['captum, outside the model']) * 1000:.0f} ms. On this shared 2-core machine one "
        f"round's pair varies by ±15 %, so the many rounds of the two alone, the images counted and the time outside "
        f"the model are the figures to read."
    )
    ratio, low, high = paired_ratio(s["plugin.run occlusion"], s[DIRECT_DEFAULT])
    add(f"Against captum at its own default perturbations_per_eval=1: **{ratio:.2f}** ({low:.2f}-{high:.2f}).")
    add("")
    if result.get("superpixels"):
        add(superpixel_report(result["superpixels"], result["superpixel_rounds"]))
    sc = result["scorecam"]
    add(
        f"Score-CAM at `{result['layer']}` ({sc['channels']} channels), timed once each (a forward pass timed right "
        "after each):"
    )
    add("")
    add("| Score-CAM | seconds | forward passes (same moment) |")
    add("|---|---:|---:|")
    add(
        f"| grad-cam package `ScoreCAM`, every channel, batch 16 | {sc['package_s']:.1f} | "
        f"{sc['package_s'] / sc['package_forward_s']:.0f} |"
    )
    if sc["full_s"] > 0 and sc["agreement_full"] == sc["agreement_full"]:
        add(
            f"| ours, every channel (`channels=4096`), `plugin.run`, batch 16 | {sc['full16_s']:.1f} | "
            f"{sc['full16_s'] / sc['full16_forward_s']:.0f} |"
        )
        add(
            f"| ours, every channel (`channels=4096`), `plugin.run`, default batch | {sc['full_s']:.1f} | "
            f"{sc['full_s'] / sc['full_forward_s']:.0f} |"
        )
    capped, low, high = paired_ratio(s["plugin.run scorecam"], forward)
    add(
        f"| ours, default cap (interleaved rounds above) | {statistics.median(s['plugin.run scorecam']):.1f} | "
        f"{capped:.0f} |"
    )
    add("")
    add(
        f"- Agreement with the package's full map: ours every channel {sc['agreement_full']:.4f}; ours capped "
        f"{sc['agreement_capped']:.4f}."
    )
    add(f"- Default cap: {' '.join(n for n in sc['notes'] if 'Score-CAM' in n)}")
    if sc["full_notes"]:
        add(f"- Every channel: {' '.join(n for n in sc['full_notes'] if 'Score-CAM' in n)}")
    add(
        "- Capped vs full (ours, correlation of the two maps, per sample): "
        + ", ".join(f"{stem} {value:.3f}" for stem, value in result["fidelity"].items())
    )
    add("")
    if result["batch_sweep"]:
        add(
            "Batch size of the looping methods, median seconds of `plugin.run` at each (interleaved; the defaults "
            "follow the fastest):"
        )
        add("")
        add("| method | " + " | ".join(f"batch {size}" for size in BATCHES) + " |")
        add("|---|" + "---:|" * len(BATCHES))
        for name, times in result["batch_sweep"].items():
            fastest = min(times, key=times.get)
            add(
                f"| {name} | "
                + " | ".join(f"**{t:.2f}**" if size == fastest else f"{t:.2f}" for size, t in times.items())
                + " |"
            )
        add("")
    add(
        f"Peak memory of the slowest method (`{slowest}`), fresh process, one `plugin.run` after a warm-up: peak RSS "
        f"{memory['peak_mib']:.0f} MiB, {memory['peak_mib'] - memory['before_mib']:.0f} MiB above the "
        f"{memory['before_mib']:.0f} MiB "
        f"held just before (the interpreter, torch, timm, captum and the model)."
    )
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per case (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up calls per case (default 1)")
    parser.add_argument(
        "--fidelity-images",
        type=int,
        default=len(SAMPLES),
        help=f"samples for Score-CAM capped vs full (default {len(SAMPLES)}; each costs a full Score-CAM)",
    )
    parser.add_argument("--skip-full-scorecam", action="store_true", help="do not time ours with every channel")
    parser.add_argument(
        "--occlusion-rounds", type=int, default=15, help="rounds of ours against captum's Occlusion alone (default 15)"
    )
    parser.add_argument(
        "--skip-batch-sweep", action="store_true", help="do not time the looping methods per batch size"
    )
    parser.add_argument(
        "--superpixel-rounds", type=int, default=5, help="rounds of each superpixel method against captum (default 5)"
    )
    parser.add_argument(
        "--superpixels-only",
        action="store_true",
        help="print only the superpixel methods against captum (a quick run; not written to RESULTS.md)",
    )
    parser.add_argument("--write", action="store_true", help="also put the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.superpixels_only:
        backbone = registry.load_backbone(BACKBONE, device="cpu")
        print(superpixel_report(superpixel_pairs(backbone, str(IMAGE), args.superpixel_rounds), args.superpixel_rounds))
        return 0
    started = time.perf_counter()
    result = bench(
        args.repeat,
        args.warmup,
        args.fidelity_images,
        not args.skip_full_scorecam,
        not args.skip_batch_sweep,
        args.occlusion_rounds,
    )
    result["superpixels"] = superpixel_pairs(
        registry.load_backbone(BACKBONE, device="cpu"), str(IMAGE), args.superpixel_rounds
    )
    result["superpixel_rounds"] = args.superpixel_rounds
    s = result["samples"]
    slowest = max((n for n in s if n.startswith("plugin.run")), key=lambda n: statistics.median(s[n])).split()[-1]
    memory = peak_memory(slowest)
    command = "python -m benchmarks.bench_methods " + " ".join(sys.argv[1:])
    text = report(result, memory, slowest, args.repeat, args.warmup, time.perf_counter() - started, command.strip())
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
