"""`cnnlens strategies` (and `python -m registry.audit`): registry.strategies from a shell, with a progress bar.

    cnnlens strategies val/ --target tabby --backbone tf_efficientnet_lite0 --method gradcam --out runs/audit

Writes OUT/strategies.parquet, strategies.csv, strategies_summary.csv and strategies.png beside Evaluate's files;
a rerun with the same OUT reads back the maps it has (OUT/maps/). A problem with the data or the options is
printed as its sentence (exit status 2), not as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from registry.audit._strategies import strategies
from registry.evaluation import DEFAULT_BATCH_SIZE, ENGINES, EvaluationEngine
from registry.evaluation.cli import with_progress
from registry.models import DEFAULT_BACKBONE

__all__ = ["main", "parser"]

PASSED = (
    "clusters",
    "out",
    "device",
    "weights",
    "layer",
    "seed",
)  # options that are `strategies`' keywords as they are


def parser() -> argparse.ArgumentParser:
    """The command's options (also what `cnnlens strategies --help` prints)."""
    ask = argparse.ArgumentParser(
        prog="cnnlens strategies",
        description="Group a class's heatmaps by where the model looks (SpRAy), the most unusual strategy first: a "
        "minority strategy with its heat off the object is how a shortcut shows.",
    )
    ask.add_argument("data", help="a folder (root/<class>/*.jpg, or unlabelled images), a manifest, or 'samples'")
    ask.add_argument("--target", required=True, help="the class, by number or name")
    ask.add_argument("--backbone", default=DEFAULT_BACKBONE, help="a timm model name")
    ask.add_argument("--weights", help="'random' for random weights, or a checkpoint file")
    ask.add_argument("--method", default="gradcam", help="the heatmap method")
    ask.add_argument("--layer", help="the method's layer (default: its own)")
    ask.add_argument("--clusters", type=int, help="how many strategies (default: the eigengap decides)")
    ask.add_argument("--out", help="folder for the rows, summary and figure; a rerun reuses the maps there")
    ask.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="images through the model at once")
    ask.add_argument("--workers", type=int, default=2, help="DataLoader processes decoding images (0: none)")
    ask.add_argument("--engine", choices=ENGINES, default="local", help="local (in process) or ray (Ray Data)")
    ask.add_argument("--address", help="a Ray cluster to join (default: $RAY_ADDRESS, else a local cluster)")
    ask.add_argument("--device", help="cpu, cuda, cuda:1 … (default: the GPU when there is one)")
    ask.add_argument("--seed", type=int, default=0, help="for the embedding, k-means and the layout")
    ask.add_argument("--quiet", action="store_true", help="no progress bar")
    return ask


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 when every image gave a map, 1 when some failed, 2 for a problem in the input."""
    options = parser().parse_args(argv)
    engine = EvaluationEngine(
        name=options.engine, batch_size=options.batch_size, num_workers=options.workers, address=options.address
    )

    def work(progress: Callable[[float, str], None]):
        given = {name: getattr(options, name) for name in PASSED}
        chosen = (options.data, options.backbone, options.target, options.method)
        return strategies(*chosen, **given, engine=engine, progress=progress)

    result = with_progress("cnnlens strategies", options.quiet, work)
    if result is None:  # the sentence is printed
        return 2
    for strategy in result.strategies:
        print(strategy.sentence)
    print(f"{len(result.rows)} images of '{result.target_label}' ({result.computed} maps computed now) in "
          f"{result.seconds:.1f} s", end="")  # fmt: skip
    print(f"; written to {result.out}" if result.out is not None else "")
    for error in result.errors[:10]:
        print(f"  skipped: {error}", file=sys.stderr)
    return 1 if result.errors else 0
