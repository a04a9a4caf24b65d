"""CPU benchmark of CNN Lens: plugin times, references, model load, app start-up, memory.

    python -m benchmarks.bench_plugins              # print the results (markdown)
    python -m benchmarks.bench_plugins --write      # ... and replace benchmarks/RESULTS.md
    python -m benchmarks.bench_plugins --repeat 50  # more repetitions (default 30)

Machines that share cores are noisy, so absolute times are only indicative. What this script
is built for are RATIOS measured in the same run: every case below is timed once per
repetition, in a rotating order (interleaved), after warm-up; each ratio is the median of the
per-repetition ratios (the two cases it compares ran moments apart), with its 25-75 % range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

from benchmarks._common import (
    BACKBONE,
    IMAGE,
    ROOT,
    interleaved,
    machine,
    median_ms,
    paired_ratio,
    pearson,
    proc_peak_rss_mib,
    quartiles,
    timed,
)
from testkit.server import free_port

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import registry  # noqa: E402
from registry import render  # noqa: E402
from registry.methods import normalize  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
GPU_HEADING = "## GPU check"


def keep_gpu_section() -> str:
    """The GPU section of RESULTS.md is written by hand from gpu_check.py runs; keep it on rewrite."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    return "\n" + old[old.index(GPU_HEADING) :] if GPU_HEADING in old else ""


PLUGINS = ("feature_maps", "gradcam", "saliency")


# --------------------------------------------------------------------------- timing helpers


def unit(t: torch.Tensor) -> np.ndarray:
    """A map scaled like our unsigned heatmaps: negatives clipped, maximum at 1."""
    t = t.detach().float().cpu().clamp(min=0)
    return (t / t.max()).numpy() if float(t.max()) > 0 else t.numpy()


# --------------------------------------------------------------------------- in-process benchmarks


def bench_compute(repeat: int, warmup: int) -> dict:
    from captum.attr import LayerAttribution, LayerGradCam, Saliency
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    backbone = registry.load_backbone(BACKBONE, device="cpu")
    model = backbone.model
    layer_name, module = backbone.module(None)
    plugins = {name: registry.get_plugin(name) for name in PLUGINS}
    image = str(IMAGE)  # what the app hands a plugin: a file path (gr.Image(type="filepath"))
    x, view = backbone.prepare(image)
    target = int(backbone.probabilities(x).argmax())
    size = (view.height, view.width)

    def theirs_gradcam() -> tuple[float, np.ndarray]:
        cam = GradCAM(model=model, target_layers=[module])  # hooks registered outside the clock
        try:
            started = time.perf_counter()
            out = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])
            seconds = time.perf_counter() - started
        finally:
            cam.activations_and_grads.release()  # hooks off, so no other case pays for them
            model.zero_grad(set_to_none=True)  # it calls loss.backward(): parameter .grad is filled
        return seconds, out[0]

    def captum_gradcam() -> torch.Tensor:
        attribution = LayerGradCam(model, module).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(attribution, size, interpolate_mode="bilinear")[0, 0]

    def captum_saliency() -> torch.Tensor:
        return Saliency(model).attribute(x.clone(), target=target, abs=True)[0].amax(dim=0)

    def plain_saliency() -> torch.Tensor:
        leaf = x.detach().clone().requires_grad_(True)
        score = model(leaf)[0, target]
        (gradient,) = torch.autograd.grad(score, leaf)
        return gradient[0].abs().amax(dim=0)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    raw_map = captum_gradcam().detach()

    def render_heatmap() -> None:  # what Plugin._finish does for a heatmap plugin
        heatmap = normalize(raw_map, size, False)
        render.overlay(view, heatmap, "jet", 0.5)
        render.colorize(heatmap, "jet")

    # Agreement first: benchmarks of things that compute different maps would mean little.
    ours = {name: plugin.run(backbone, image) for name, plugin in plugins.items()}
    _, their_map = theirs_gradcam()
    agreement = {
        "gradcam ours vs pytorch_grad_cam": pearson(ours["gradcam"].heatmap, their_map),
        "gradcam ours vs captum LayerGradCam (direct)": pearson(ours["gradcam"].heatmap, unit(captum_gradcam())),
        "saliency ours vs torch.autograd.grad": pearson(ours["saliency"].heatmap, unit(plain_saliency())),
        "saliency captum vs torch.autograd.grad": pearson(unit(captum_saliency()), unit(plain_saliency())),
    }
    ours_target = ours["gradcam"].target

    run_seconds: dict[str, list[float]] = {name: [] for name in PLUGINS}

    def run_case(name: str) -> Callable[[], float]:
        def case() -> float:
            started = time.perf_counter()
            result = plugins[name].run(backbone, image)
            elapsed = time.perf_counter() - started
            run_seconds[name].append(result.seconds)
            return elapsed

        return case

    cases: dict[str, Callable[[], float]] = {f"plugin.run {name}": run_case(name) for name in PLUGINS}
    cases.update(
        {
            "pytorch_grad_cam GradCAM call": lambda: theirs_gradcam()[0],
            "captum LayerGradCam (compute only)": timed(captum_gradcam),
            "captum Saliency (compute only)": timed(captum_saliency),
            "torch.autograd.grad saliency": timed(plain_saliency),
            "part: prepare (read + resize + tensor)": timed(lambda: backbone.prepare(image)),
            "part: forward pass, no grad": timed(forward),
            "part: render heatmap (normalize + 2 images)": timed(render_heatmap),
        }
    )
    samples = interleaved(cases, repeat, warmup)
    for name in PLUGINS:  # keep only the timed rounds of `Visualization.seconds`
        run_seconds[name] = run_seconds[name][-repeat:]

    cache_hits = []
    for _ in range(200):
        started = time.perf_counter()
        registry.load_backbone(BACKBONE, device="cpu")
        cache_hits.append(time.perf_counter() - started)

    chooser = getattr(plugins["feature_maps"], "auto_layer", None)
    return {
        "layer": layer_name,
        "feature_layer": chooser(backbone) if callable(chooser) else layer_name,
        "target": target,
        "ours_target": ours_target,
        "label": backbone.labels[target],
        "input": list(x.shape),
        "samples": samples,
        "run_seconds": run_seconds,
        "agreement": agreement,
        "cache_hit_s": statistics.median(cache_hits),
    }


# --------------------------------------------------------------------------- subprocess benchmarks

COLD_LOAD = r"""
import json, os, sys, time
started = time.perf_counter()
def mib():  # resident set size of this process now, MiB (Linux)
    try:
        return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
    except (OSError, StopIteration):
        return float("nan")
import torch
rss_torch = mib()
import registry
imported = time.perf_counter()
rss_registry = mib()
registry.load_backbone(%(name)r, device="cpu")
first = time.perf_counter()
rss_loaded = mib()
from registry.models import _backbones  # machinery: the cache of loaded models, cleared for a cold load
_backbones._CACHE.clear()
registry.load_backbone(%(name)r, device="cpu")
second = time.perf_counter()
registry.load_backbone(%(name)r, device="cpu")
hit = time.perf_counter()
print(json.dumps({"import_s": imported - started, "first_load_s": first - imported,
                  "uncached_load_s": second - first, "cache_hit_s": hit - second,
                  "rss_torch_mib": rss_torch, "rss_registry_mib": rss_registry, "rss_loaded_mib": rss_loaded}))
"""


def bench_cold_load(times: int) -> dict:
    runs = []
    for _ in range(times):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD_LOAD % {"name": BACKBONE}],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, CNNLENS_DEVICE="cpu"),
        )
        total = time.perf_counter() - started
        if out.returncode != 0:
            raise RuntimeError(f"cold-load subprocess failed:\n{out.stderr[-2000:]}")
        runs.append(dict(json.loads(out.stdout.strip().splitlines()[-1]), process_s=total))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]} | {"runs": len(runs)}


def bench_app_startup(times: int, limit: float = 120.0) -> dict:
    runs = []
    for _ in range(times):
        port = free_port()
        env = dict(
            os.environ,
            GRADIO_SERVER_PORT=str(port),
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_ANALYTICS_ENABLED="False",
            HF_HUB_OFFLINE="1",
            CNNLENS_DEVICE="cpu",
            PYTHONUNBUFFERED="1",
        )
        marks: dict[str, float] = {}
        lines: list[str] = []
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def read(proc=proc, lines=lines, marks=marks, started=started) -> None:
            for line in proc.stdout:
                lines.append(line)
                if "app built" in line and "built" not in marks:
                    marks["built"] = time.perf_counter() - started
                    found = re.search(r"app built in ([0-9.]+) s", line)
                    marks["logged"] = float(found.group(1)) if found else float("nan")

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ready, peak = None, float("nan")
        try:
            while time.perf_counter() - started < limit:
                if proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                        if response.status == 200:
                            ready = time.perf_counter() - started
                            peak = proc_peak_rss_mib(proc.pid)
                            break
                except OSError:
                    pass
                time.sleep(0.05)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(timeout=5)
        if ready is None:
            raise RuntimeError(
                f"`python -m app` did not answer HTTP 200 within {limit:.0f} s:\n{''.join(lines)[-3000:]}"
            )
        runs.append(
            {
                "ready_s": ready,
                "built_log_s": marks.get("built", float("nan")),
                "logged_build_s": marks.get("logged", float("nan")),
                "peak_rss_mib": peak,
            }
        )
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]} | {"runs": len(runs)}


# --------------------------------------------------------------------------- report


def report(compute: dict, cold: dict, startup: dict, repeat: int, warmup: int, seconds: float) -> str:
    from importlib.metadata import version

    import captum
    import pytorch_grad_cam  # noqa: F401

    s = compute["samples"]
    out: list[str] = []
    add = out.append
    add("# CNN Lens benchmark results")
    add("")
    add(f"- Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
    add(f"- Machine: {machine()}")
    add(
        f"- Libraries: timm {version('timm')}, captum {captum.__version__}, grad-cam {version('grad-cam')}, "
        f"gradio {version('gradio')}"
    )
    add(
        f"- Workload: `{BACKBONE}` (packaged weights), `examples/{IMAGE.name}` passed as a file path (as the app "
        "does), "
        f"input {'x'.join(map(str, compute['input'][1:]))}, class {compute['target']} ({compute['label']}), "
        f"Grad-CAM layer `{compute['layer']}` (the backbone's default layer), feature-maps layer "
        f"`{compute['feature_layer']}` "
        f"(the plugin's automatic choice)"
    )
    add(
        f"- Method: {warmup} warm-up call(s) per case, then {repeat} interleaved rounds (order rotated each round); "
        f"median and 25-75 % range. Whole run took {seconds:.0f} s. "
        f"Command: `python -m benchmarks.bench_plugins --repeat {repeat} --write`"
    )
    add("")
    add("## Per-call times")
    add("")
    add("| case | median ms | 25-75 % ms |")
    add("|---|---:|---:|")
    for name, values in s.items():
        low, high = quartiles(values)
        add(f"| {name} | {median_ms(values):.1f} | {low * 1000:.1f}-{high * 1000:.1f} |")
    add("")
    add(
        "`plugin.run` is end to end: read and preprocess the image, a no-grad forward pass for the class "
        "probabilities (plugins that explain a class), the plugin's computation, then normalising and rendering the "
        "pictures. "
        "`Visualization.seconds` (what the app shows) stops before rendering:"
    )
    add("")
    add("| plugin | `plugin.run` wall ms | `Visualization.seconds` ms | rendering and bookkeeping ms |")
    add("|---|---:|---:|---:|")
    for name in PLUGINS:
        wall, inner = median_ms(s[f"plugin.run {name}"]), median_ms(compute["run_seconds"][name])
        add(f"| {name} | {wall:.1f} | {inner:.1f} | {wall - inner:.1f} |")
    add("")
    forward = median_ms(s["part: forward pass, no grad"])
    prepare = median_ms(s["part: prepare (read + resize + tensor)"])
    fm = median_ms(s["plugin.run feature_maps"])
    add(
        f"Every `plugin.run` first prepares the image ({prepare:.1f} ms). Plugins that explain a class "
        f"(Grad-CAM, saliency) then run a no-grad forward pass for the class probabilities ({forward:.1f} ms) "
        f"before their own forward and backward; feature_maps needs no class and runs only its own hooked "
        f"forward pass ({forward:.1f} ms, about {100 * forward / fm:.0f} % of its {fm:.1f} ms)."
    )
    add("")
    add("## Ratios (same run, paired per round)")
    add("")
    add("| ratio | median | 25-75 % |")
    add("|---|---:|---:|")
    pairs = [
        ("Grad-CAM: ours `plugin.run` / pytorch_grad_cam call", "plugin.run gradcam", "pytorch_grad_cam GradCAM call"),
        (
            "Grad-CAM compute only: captum LayerGradCam / pytorch_grad_cam",
            "captum LayerGradCam (compute only)",
            "pytorch_grad_cam GradCAM call",
        ),
        ("Saliency: ours `plugin.run` / torch.autograd.grad", "plugin.run saliency", "torch.autograd.grad saliency"),
        (
            "Saliency compute only: captum Saliency / torch.autograd.grad",
            "captum Saliency (compute only)",
            "torch.autograd.grad saliency",
        ),
        (
            "Feature maps: ours `plugin.run` / one no-grad forward pass",
            "plugin.run feature_maps",
            "part: forward pass, no grad",
        ),
        ("Grad-CAM `plugin.run` / one no-grad forward pass", "plugin.run gradcam", "part: forward pass, no grad"),
        ("Saliency `plugin.run` / one no-grad forward pass", "plugin.run saliency", "part: forward pass, no grad"),
    ]
    for label, a, b in pairs:
        ratio, low, high = paired_ratio(s[a], s[b])
        add(f"| {label} | {ratio:.2f} | {low:.2f}-{high:.2f} |")
    add("")
    add("## Agreement of the maps compared (Pearson correlation, same input and class)")
    add("")
    for label, value in compute["agreement"].items():
        flag = "" if value > 0.99 else "  **(< 0.99)**"
        add(f"- {label}: {value:.4f}{flag}")
    add("")
    add("## Start-up and memory")
    add("")
    add("| measure | time (s unless marked) |")
    add("|---|---:|")
    add(f"| cold: `import registry` in a fresh process | {cold['import_s']:.2f} |")
    add(f"| cold: first `load_backbone` in that process | {cold['first_load_s']:.2f} |")
    add(f"| uncached `load_backbone` in a warm process (cache cleared) | {cold['uncached_load_s']:.3f} |")
    add(f"| warm: `load_backbone` cache hit | {compute['cache_hit_s'] * 1e6:.1f} µs |")
    add(f"| whole cold-load subprocess (interpreter + import + loads) | {cold['process_s']:.2f} |")
    add(f"| app: `python -m app` launched until `GET /` answers 200 | {startup['ready_s']:.2f} |")
    add(f"| app: of which until the 'app built' log line appears | {startup['built_log_s']:.2f} |")
    add(f"| app: the build time that log line reports | {startup['logged_build_s']:.2f} |")
    add("")
    add(f"Cold load: median of {cold['runs']} fresh processes; app start-up: median of {startup['runs']} launches.")
    add("")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    add("| memory | MiB |")
    add("|---|---:|")
    add(f"| peak RSS of this benchmark process after everything (`getrusage`) | {self_rss:.0f} |")
    add(f"| fresh process: RSS after `import torch` | {cold['rss_torch_mib']:.0f} |")
    add(f"| fresh process: RSS after `import registry` | {cold['rss_registry_mib']:.0f} |")
    add(f"| fresh process: RSS after loading `{BACKBONE}` | {cold['rss_loaded_mib']:.0f} |")
    add(f"| app server: peak RSS (VmHWM) when `GET /` first answers | {startup['peak_rss_mib']:.0f} |")
    add("")
    add("## How to read the ratios")
    add("")
    add(
        "- A ratio is (first case) / (second case), both timed in the same round, so machine-wide slow-downs "
        "cancel; trust ratios over absolute milliseconds on this shared 2-core machine."
    )
    add(
        "- Ours vs pytorch_grad_cam / torch.autograd.grad: ours is end to end (image read, preprocessing, an "
        "extra forward pass for the probabilities, rendering three pictures); theirs is only the computation "
        "on an already prepared tensor. A ratio near 1 would mean no overhead; the parts above show where it goes."
    )
    add(
        "- Compute-only ratios compare like with like (same tensor, same layer, same class). Below 1: captum is "
        "faster. pytorch_grad_cam calls `loss.backward()`, which also computes every parameter gradient; captum "
        "asks `torch.autograd.grad` only for the layer (or input) gradient."
    )
    add("- ratio / forward pass: how many forward-pass equivalents a whole request costs.")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds per case (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up calls per case (default 3)")
    parser.add_argument("--cold", type=int, default=3, help="fresh processes for the cold load (default 3)")
    parser.add_argument("--startup", type=int, default=2, help="app launches for the start-up time (default 2)")
    parser.add_argument("--write", action="store_true", help=f"also write the results to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.repeat < 1 or args.cold < 1 or args.startup < 1 or args.warmup < 0:
        parser.error("--repeat, --cold and --startup must be at least 1, --warmup at least 0")

    started = time.perf_counter()

    def phase(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    phase(f"timing plugins ({args.repeat} rounds)...")
    compute = bench_compute(args.repeat, args.warmup)
    phase(f"cold model loads ({args.cold} processes)...")
    cold = bench_cold_load(args.cold)
    phase(f"app start-up ({args.startup} launches)...")
    startup = bench_app_startup(args.startup)
    phase("done")
    text = report(compute, cold, startup, args.repeat, args.warmup, time.perf_counter() - started)
    print(text)
    if args.write:
        RESULTS.write_text(text + keep_gpu_section(), encoding="utf-8")
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
