"""Time of each trust check on the default backbone, and what they measure on the sample images.

    python -m benchmarks.bench_trust            # print the section (markdown)
    python -m benchmarks.bench_trust --write    # ... and replace its section in RESULTS.md

For every sample and every seed heatmap method: deletion / insertion AUCs at the defaults (20 steps,
zero deletion baseline, blur insertion canvas, 8 smooth random maps, the inverse map) and the verdict, then the
randomization check of each method on the cat with the rank correlation and SSIM after each step.
Times are single measurements on a shared machine: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import registry  # noqa: E402
from benchmarks._common import ROOT, machine  # noqa: E402
from benchmarks.results import publish  # noqa: E402

HEADING = "## Trust checks (deletion / insertion, randomization)"
SAMPLES = ("cat.png", "coffee.png", "camera-gray.png", "rocket.jpg", "astronaut.png")
DEFAULT_SAMPLES = 3
METHODS = ("gradcam", "saliency")


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def faithfulness_rows(backbone, samples: tuple[str, ...]) -> tuple[list[str], list[float]]:
    rows = [
        "| sample (class) | method | deletion AUC: map / random (± spread) / inverse | insertion AUC: map / random (± "
        "spread) / inverse | map beats random on both | s |",
        "|---|---|---|---|---|---:|",
    ]
    seconds = []
    for sample in samples:
        image = registry.load_image(ROOT / "examples" / sample)
        for method in METHODS:
            result = registry.get_plugin(method).run(backbone, image)
            score, took = timed(lambda image=image, result=result: registry.faithfulness(backbone, image, result))
            seconds.append(took)
            wins = score.verdict.beats_random  # clearly outside the random spread and better than its reverse
            rows.append(
                f"| {sample} ({score.target}: {score.label.split(',')[0]}, p={result.probability:.2f}) | {method} | "
                f"{score.deletion_auc:.3f} / {score.random_deletion_auc:.3f} (± {score.random_deletion_spread:.3f}) / "
                f"{score.inverse_deletion_auc:.3f} | {score.insertion_auc:.3f} / {score.random_insertion_auc:.3f} "
                f"(± {score.random_insertion_spread:.3f}) / {score.inverse_insertion_auc:.3f} | "
                f"{'yes' if wins else 'no'} | {took:.1f} |"
            )
            print(rows[-1], flush=True)
    return rows, seconds


def sanity_rows(backbone) -> tuple[list[str], dict[str, float]]:
    image = registry.load_image(ROOT / "examples" / "cat.png")
    checks, seconds = {}, {}
    for method in METHODS:
        checks[method], seconds[method] = timed(lambda method=method: registry.sanity_check(backbone, image, method))
    header = "| randomized (cumulative) | " + " | ".join(f"{m} rank corr / SSIM" for m in METHODS) + " |"
    rows = [header, "|---|" + "---:|" * len(METHODS)]
    for index, step in enumerate(checks[METHODS[0]].steps):
        cells = [f"{checks[m].steps[index].rank_correlation:.3f} / {checks[m].steps[index].ssim:.3f}" for m in METHODS]
        rows.append(f"| {step.randomized} | " + " | ".join(cells) + " |")
    return rows, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="replace this section of benchmarks/RESULTS.md")
    parser.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help=f"how many of {', '.join(SAMPLES)} to score"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    image = registry.load_image(ROOT / "examples" / "cat.png")
    registry.get_plugin("gradcam").run(backbone, image)  # warm-up
    _, run_seconds = timed(lambda: registry.get_plugin("gradcam").run(backbone, image))
    auc_rows, auc_seconds = faithfulness_rows(backbone, SAMPLES[: args.samples])
    step_rows, check_seconds = sanity_rows(backbone)
    per_image = sorted(auc_seconds)[len(auc_seconds) // 2]
    text = "\n".join(
        [
            HEADING,
            "",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}",
            f"- Backbone `{registry.DEFAULT_BACKBONE}` (packaged weights), each method at its defaults and the "
            "predicted class; "
            f"whole run {time.perf_counter() - started:.0f} s. Command: `python -m benchmarks.bench_trust --samples "
            f"{args.samples} --write`",
            "- The machine was shared with other jobs during the run: times are single measurements, not medians.",
            "",
            "### Time per check",
            "",
            "| check | seconds |",
            "|---|---:|",
            f"| Grad-CAM `plugin.run` (for scale) | {run_seconds:.2f} |",
            "| `registry.faithfulness`, 20 steps, 3 random maps + inverse (193 images through the model, batches of "
            f"16), median of {len(auc_seconds)} | {per_image:.1f} |",
            *[
                f"| `registry.sanity_check` {m}, all 7 parts (copy + 8 maps) | {s:.1f} |"
                for m, s in check_seconds.items()
            ],
            "",
            "### Deletion and insertion AUCs (map vs random maps vs the map's inverse)",
            "",
            *auc_rows,
            "",
            "Deletion: lower is better; insertion: higher is better. Random maps are uniform noise on the final "
            "feature map's "
            "7×7 grid, smoothly upsampled (3 seeds).",
            "",
            "### Randomization check on `examples/cat.png` (tiger cat), similarity to the original map",
            "",
            *step_rows,
        ]
    )
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
