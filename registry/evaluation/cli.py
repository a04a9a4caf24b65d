"""`cnnlens evaluate` (and `python -m registry.evaluation`): registry.evaluate from a shell, with a progress bar.

    cnnlens evaluate val/ --backbones tf_efficientnet_lite0 resnet50 --methods gradcam saliency \\
        --metrics top1 pointing_game energy --out runs/val

Every option is a field of the same name of `registry.evaluate`'s protocol or engine (`--engine` is the engine's
name, `--workers` its num_workers). A problem with the data or the options, or a missing extra (the progress bar and
Parquet need `pip install "cnn-lens[evaluate]"`), is printed as its sentence (exit status 2), not as a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from registry.evaluation._engine import DEFAULT_METHODS, DEFAULT_METRICS, METRICS
from registry.evaluation._evaluate import evaluate
from registry.evaluation._extras import MissingExtraError, require
from registry.evaluation._options import DEFAULT_BATCH_SIZE, ENGINES, EvaluationEngine, EvaluationProtocol
from registry.models import DEFAULT_BACKBONE, UnknownBackboneError, WeightsUnavailableError

__all__ = ["main", "parser", "progress_bar", "table", "with_progress"]

_COUNTS = re.compile(r"(\d+)/(\d+) (?:units|images|frames)")  # Evaluate's, the concept test's, a video's
T = TypeVar("T")


def parser() -> argparse.ArgumentParser:
    """The command's options (also what `cnnlens evaluate --help` prints)."""
    ask = argparse.ArgumentParser(
        prog="cnnlens evaluate",
        description="Score explanation methods on backbones over a dataset: one row per image, backbone, method "
        "and target in OUT/rows.parquet and rows.csv, the summary in summary.csv and summary.png.",
    )
    ask.add_argument(
        "data",
        help="a folder (root/<class>/*.jpg, or unlabelled images), a manifest (.csv / .jsonl: path, label, box "
        "x0,y0,x1,y1, mask), or 'samples' (the bundled images)",
    )
    ask.add_argument("--backbones", nargs="+", default=[DEFAULT_BACKBONE], metavar="NAME", help="timm model names")
    ask.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), metavar="NAME", help="heatmap method names")
    ask.add_argument(
        "--metrics", nargs="+", default=list(DEFAULT_METRICS), choices=METRICS, metavar="NAME",
        help=f"any of {', '.join(METRICS)}",
    )  # fmt: skip
    ask.add_argument("--out", help="folder for the rows, summary and figure; a rerun skips finished rows")
    ask.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="images through the model at once")
    ask.add_argument("--workers", type=int, default=2, help="DataLoader processes decoding images (0: none)")
    ask.add_argument("--engine", choices=ENGINES, default="local", help="local (in process) or ray (Ray Data)")
    ask.add_argument("--address", help="a Ray cluster to join (default: $RAY_ADDRESS, else a local cluster)")
    ask.add_argument("--concurrency", type=int, help="Ray actors, each holding the model")
    ask.add_argument("--device", help="cpu, cuda, cuda:1 … (default: the GPU when there is one)")
    ask.add_argument("--weights", help="'random' for random weights, or a checkpoint file")
    ask.add_argument("--layer", help="the layer of every layer-based method (default: each method's own)")
    ask.add_argument("--tolerance", type=float, default=15.0, help="the pointing game's radius in image pixels")
    ask.add_argument("--steps", type=int, default=20, help="deletion / insertion steps")
    ask.add_argument("--seeds", type=int, default=3, help="random maps for the deletion / insertion baseline")
    ask.add_argument("--min-confidence", type=float, default=0.5, help="the grid pointing game's images' least p")
    ask.add_argument("--grids", type=int, help="the most grids per backbone (default: as many as the data allows)")
    ask.add_argument("--quiet", action="store_true", help="no progress bar")
    return ask


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 when every row was scored, 1 when some images failed, 2 for a problem in the input."""
    options = parser().parse_args(argv)

    def work(progress: Callable[[float, str], None]):
        return evaluate(
            options.data,
            options.backbones,
            options.methods,
            options.metrics,
            out=options.out,
            protocol=_group(EvaluationProtocol, options),
            engine=_group(EvaluationEngine, options, name=options.engine, num_workers=options.workers),
            device=options.device,
            weights=options.weights,
            layer=options.layer,
            progress=progress,
        )

    result = with_progress("cnnlens evaluate", options.quiet, work)
    if result is None:
        return 2
    print(table(result.summary))
    print(f"{len(result.rows)} rows ({result.computed} computed now) in {result.seconds:.1f} s", end="")
    print(f"; written to {result.out}" if result.out is not None else "")
    for error in result.errors[:10]:
        print(f"  skipped: {error}", file=sys.stderr)
    return 1 if result.errors else 0


def with_progress(name: str, quiet: bool, work: Callable[[Callable[[float, str], None]], T]) -> T | None:
    """`work(progress)` under a progress bar (none when `quiet`); a problem in the input or a missing extra is
    printed as ``name: sentence`` and gives None. The one error path of the batch commands."""
    bar = None
    try:
        bar, progress = progress_bar(quiet)
        return work(progress)
    except (ValueError, MissingExtraError, UnknownBackboneError, WeightsUnavailableError) as exc:
        if bar is not None:
            bar.close()
            bar = None
        print(f"{name}: {exc}", file=sys.stderr)
        return None
    finally:
        if bar is not None:
            bar.close()


def progress_bar(quiet: bool) -> tuple[Any, Callable[[float, str], None]]:
    """A tqdm bar on stderr (None when `quiet`) and the progress callback that moves it from Evaluate's words
    ("name: 12/40 units")."""
    bar = None if quiet else require("tqdm").tqdm(total=0, unit="unit", dynamic_ncols=True, file=sys.stderr)

    def progress(fraction: float, words: str) -> None:
        found = _COUNTS.search(words)
        if bar is not None and found:
            bar.total = int(found.group(2))
            bar.update(int(found.group(1)) - bar.n)
            bar.set_description(words.split(":")[0])

    return bar, progress


def _group(kind: type[T], options: argparse.Namespace, **named: Any) -> T:
    """`kind` (the protocol or the engine) from the options named like its fields, and `named` for the others."""
    given = {field.name: getattr(options, field.name) for field in fields(kind) if hasattr(options, field.name)}
    return kind(**{**given, **named})


def table(summary: Sequence[dict]) -> str:
    """The summary as aligned text: score, method, backbone, n, mean and its 95 % interval."""
    lines = [f"{'score':<22}{'method':<18}{'backbone':<26}{'n':>5}  mean    95 % interval"]
    for entry in summary:
        lines.append(
            f"{entry['score']:<22}{entry['method'] or '(all)':<18}{entry['backbone']:<26}{entry['n']:>5}  "
            f"{entry['mean']:.3f}   [{entry['low']:.3f}, {entry['high']:.3f}]"
        )
    return "\n".join(lines)
