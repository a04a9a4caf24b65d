"""`cnnlens concepts`: registry.concept_test from a shell, writing rows and a figure.

    cnnlens concepts concepts/ --target zebra --data zebras/ --out runs/zebra
    cnnlens concepts stripes=stripes.zip dots=dots/ --target 340 --data val/ --layers blocks.4 bn2

CONCEPTS is a folder or a zip holding one folder per concept (its name is the concept's), or NAME=PATH pairs (a
folder or a zip each). Writes OUT/concepts.csv, concepts.parquet (with pyarrow) and concepts.png, and prints one
line per concept and layer: its score and significance, or "not significant". A rerun reads the layer activations
from the cache (by weights digest, layer and set), so it computes nothing it has computed before. A problem with the
input is printed as its sentence (exit status 2), not as a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from registry.audit._concepts import ALPHA, RANDOM_SETS, ConceptTest, concept_test
from registry.evaluation import DataError, extract_zip
from registry.evaluation.cli import with_progress
from registry.models import DEFAULT_BACKBONE, load_backbone

__all__ = ["DESCRIPTION", "main", "parser"]

DESCRIPTION = (
    "Test whether human concepts drive a class (TCAV, Kim et al. 2018, with its significance test): one row per "
    "concept and layer in OUT/concepts.csv and concepts.parquet, the figure in concepts.png."
)


def parser() -> argparse.ArgumentParser:
    """The command's options (also what `cnnlens concepts --help` prints)."""
    ask = argparse.ArgumentParser(prog="cnnlens concepts", description=DESCRIPTION)
    ask.add_argument(
        "concepts", nargs="+", metavar="CONCEPTS",
        help="a folder or zip with one folder of images per concept, or NAME=PATH pairs (a folder or zip each)",
    )  # fmt: skip
    ask.add_argument("--target", required=True, help="the class, by number or name")
    ask.add_argument(
        "--data", default="samples",
        help="the class's images: a folder (by class, or unlabelled), a manifest, a zip, or 'samples'",
    )  # fmt: skip
    ask.add_argument(
        "--random", nargs="+", metavar="PATH",
        help="random sets: one folder or zip holding a folder per set, or several folders / zips (default: random "
        "crops of the data and the bundled samples)",
    )  # fmt: skip
    ask.add_argument("--random-sets", type=int, default=RANDOM_SETS, help="random sets to make (when none given)")
    ask.add_argument("--random-size", type=int, help="images per made random set (default: the largest concept's)")
    ask.add_argument("--backbone", default=DEFAULT_BACKBONE, help="a timm model name")
    ask.add_argument("--weights", help="'random' for random weights, or a checkpoint file")
    ask.add_argument("--device", help="cpu, cuda, cuda:1 … (default: the GPU when there is one)")
    ask.add_argument("--layers", nargs="+", metavar="NAME", help="layers to test (default: a middle one and the last)")
    ask.add_argument("--alpha", type=float, default=ALPHA, help="significance level, after Bonferroni's correction")
    ask.add_argument("--seed", type=int, default=0, help="seed of the random crops and the CAV fits")
    ask.add_argument("--batch-size", type=int, default=16, help="images through the model at once")
    ask.add_argument("--out", help="folder for concepts.csv, concepts.parquet and concepts.png")
    ask.add_argument("--no-cache", action="store_true", help="compute every activation, keep none")
    ask.add_argument("--quiet", action="store_true", help="no progress bar")
    return ask


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 when it ran, 2 for a problem in the input."""
    options = parser().parse_args(argv)

    def work(progress: Callable[[float, str], None]) -> ConceptTest:
        with tempfile.TemporaryDirectory(prefix="cnnlens-concepts-") as unpacked:
            concepts = _named(options.concepts, Path(unpacked) / "concepts", "concept")
            random = options.random and list(_named(options.random, Path(unpacked) / "random", "random set").values())
            return concept_test(
                load_backbone(options.backbone, device=options.device, weights=options.weights),
                options.target,
                concepts,
                options.data,
                layers=options.layers,
                random=random or None,
                random_sets=options.random_sets,
                random_size=options.random_size,
                alpha=options.alpha,
                seed=options.seed,
                batch_size=options.batch_size,
                cache=not options.no_cache,
                progress=progress,
            )

    result = with_progress("cnnlens concepts", options.quiet, work)
    if result is None:  # the sentence is printed
        return 2
    print(
        f"{result.backbone}, class {result.target} ({result.label}): {len(result.rows)} tests in {result.seconds:.1f} s"
    )
    for said in result.verdicts():
        print(f"  {said}")
    if options.out:
        print(f"written to {result.save(options.out)}")
    for note in result.notes:
        print(f"  note: {note}", file=sys.stderr)
    return 0


def _named(given: Sequence[str], work: Path, what: str) -> dict[str, str]:
    """NAME=PATH pairs as they are; else one folder or zip whose folders are the sets (named after them)."""
    if all("=" in item for item in given):
        return dict(item.split("=", 1) for item in given)
    if len(given) > 1:
        return {Path(item).stem: item for item in given}
    path = Path(given[0]).expanduser()
    if path.is_file() and path.suffix.lower() == ".zip":
        extract_zip(path, work)
        path = work
    if not path.is_dir():
        raise DataError(f"There is no folder or zip called '{path.name}'.")
    folders = sorted(child for child in path.iterdir() if child.is_dir() and not child.name.startswith((".", "__")))
    if len(folders) == 1 and any(child.is_dir() for child in folders[0].iterdir()):  # a zip of one top folder
        folders = sorted(child for child in folders[0].iterdir() if child.is_dir())
    if not folders:
        raise DataError(
            f"'{Path(given[0]).name}' holds no folders: put each {what}'s images in a folder named after it "
            f"(stripes/, dots/), or name them as stripes=PATH dots=PATH."
        )
    return {folder.name: str(folder) for folder in folders}
