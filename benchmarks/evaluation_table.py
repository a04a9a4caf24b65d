"""The method × backbone table of issue 19 (grown by issue 43): every heatmap method on the three packaged
backbones, scored by the grid pointing game and deletion / insertion AUC (with the random-map baseline) over the
samples and their mirrors, as RESULTS.md shows it.

    python -m benchmarks.evaluation_table --out /tmp/table        # runs (resumable), then prints the table
    python -m benchmarks.evaluation_table --summary runs/x/summary.csv   # the table of a `cnnlens evaluate` run

The run is `registry.evaluate` (the command line's `cnnlens evaluate` with the same options); a rerun with the
same --out reads the finished rows and only prints. Grids need correctly classified images at least
--min-confidence probable, of four different classes: the packaged lite models are rarely confident on the
samples, so the default here is 0.05, where the issue's protocol (Böhle et al.) asks for confident ones.

The peers' metrics (average_drop, increase_in_confidence, road, arcc: issue 43) are Evaluate metrics too, but not in
this table: ROAD's imputation costs seconds per map at 224 px on a CPU (RESULTS.md, bench_peer_metrics.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")

import registry  # noqa: E402
from benchmarks.bench_evaluate import dataset  # noqa: E402

BACKBONES = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
METHODS = tuple(  # every heatmap method, family by family (the app's order), then by name
    plugin.name
    for plugin in sorted(registry.list_plugins(), key=lambda p: (list(registry.FAMILIES).index(p.family), p.name))
    if plugin.output == "heatmap"
)
SCORES = ("grid_pointing_game", "deletion_auc", "insertion_auc")
SHORT = {"tf_efficientnet_lite0": "lite0", "tf_efficientnet_lite1": "lite1", "tf_efficientnet_lite2": "lite2"}


def cell(entry: dict | None) -> str:
    """'mean [low, high]', or '–' where the score has no rows."""
    if entry is None:
        return "–"
    return f"{float(entry['mean']):.3f} [{float(entry['low']):.2f}, {float(entry['high']):.2f}]"


def table(summary: list[dict]) -> str:
    """Markdown: a row per method, per backbone the grid PG, deletion AUC (random) and insertion AUC (random)."""
    found = {(e["method"], e["backbone"], e["score"]): e for e in summary}
    backbones = [b for b in BACKBONES if any(key[1] == b for key in found)]
    head = ["method"] + [f"{SHORT[b]} {what}" for b in backbones for what in ("grid PG", "deletion ↓", "insertion ↑")]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for method in METHODS:
        cells = [method]
        for backbone in backbones:
            cells.append(cell(found.get((method, backbone, "grid_pointing_game"))))
            for score in ("deletion_auc", "insertion_auc"):
                entry, random = found.get((method, backbone, score)), found.get((method, backbone, f"random_{score}"))
                cells.append(cell(entry) + (f" ({float(random['mean']):.3f})" if random else ""))
        lines.append("| " + " | ".join(cells) + " |")
    counts = []
    for backbone in backbones:
        top1 = found.get(("", backbone, "top1"))
        grids = found.get(("gradcam", backbone, "grid_pointing_game"))
        counts.append(
            f"{SHORT[backbone]}: top-1 {float(top1['mean']):.3f} over {top1['n']} images" if top1 else SHORT[backbone]
        )
        counts[-1] += f", {grids['n']} grid cells" if grids else ", no grid (too few confident right images)"
    return "\n".join(lines) + "\n\n" + "; ".join(counts) + "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="a folder for the images and the rows (resumable)")
    parser.add_argument("--summary", type=Path, help="only print the table of this summary.csv (cnnlens evaluate's)")
    parser.add_argument("--images", type=int, default=12, help="the samples, then their mirrors, this many in all")
    parser.add_argument("--min-confidence", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=10, help="deletion / insertion steps")
    args = parser.parse_args()
    if args.summary:
        print(table(summary_from(args.summary)))
        return
    if args.out is None:
        parser.error("give --out (a folder to run in) or --summary (a finished run's summary.csv)")
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    manifest = data / "manifest.csv" if (data / "manifest.csv").exists() else dataset(data, args.images)
    methods, refused = applicable(METHODS, BACKBONES)
    for name, why in refused.items():
        print(f"left out, refused on the backbones: {name}: {why}")
    started = time.perf_counter()
    result = registry.evaluate(
        str(manifest),
        BACKBONES,
        methods,
        ["top1", "grid_pointing_game", "deletion", "insertion"],
        out=args.out / "rows",
        protocol=registry.EvaluationProtocol(steps=args.steps, seeds=1, min_confidence=args.min_confidence),
    )
    print(f"{len(result.rows)} rows in {time.perf_counter() - started:.0f} s; {args.out / 'rows'}")
    print(table(result.summary))


def applicable(methods: tuple[str, ...], backbones: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """(the methods every backbone takes, {method: its refusal} for the others): Evaluate refuses a run whose
    method does not apply to one of its backbones (lite's ReLU6 has no DeepLift or LRP rule, LeGrad needs a
    transformer)."""
    loaded = [registry.load_backbone(name, device="cpu") for name in backbones]
    refused = {}
    for name in methods:
        plugin = registry.get_plugin(name)
        refusal = next((why for why in map(plugin.refusal, loaded) if why is not None), None)
        if refusal is not None:
            refused[name] = refusal
    return [name for name in methods if name not in refused], refused


def summary_from(path: Path) -> list[dict]:
    """The summary.csv an earlier run (or `cnnlens evaluate`) wrote, as `result.summary` gives it."""
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


if __name__ == "__main__":
    main()
