"""The concept test against captum's TCAV (issue 40): the same concepts, layers and random sets, side by side.

    python -m benchmarks.bench_concepts            # print the section (markdown)
    python -m benchmarks.bench_concepts --write    # ... and replace its section in RESULTS.md

Both get the same pictures: two concepts (striped pictures of two periods), `--random-sets` + 1 random sets of
random crops of the bundled samples, the class's images (the samples and their mirror images), the same layers of
the default backbone, and the same CAV classifier (scikit-learn's SGDClassifier with captum's default settings and
seed, fitted on every example: testkit/captum_tcav.py). Timed: `registry.concept_test` with no cache (every
activation computed) against captum's `TCAV.interpret` with a fresh save folder, in one run; then the scores of
every concept, layer and random set compared. Target: at least 3× faster, equal scores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import registry  # noqa: E402
from benchmarks._common import machine  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from registry.audit import concept_test, random_sets  # noqa: E402
from registry.imaging import sample_paths  # noqa: E402
from registry.models import class_index  # noqa: E402
from testkit.captum_tcav import captum_scores, stripes  # noqa: E402

HEADING = "## Concept test against captum's TCAV (issue 40, bench_concepts.py)"


def main() -> None:
    ask = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ask.add_argument("--size", type=int, default=10, help="images per concept and per random set")
    ask.add_argument("--random-sets", type=int, default=10)
    ask.add_argument("--layers", nargs="+", default=["blocks.4", "bn2"])
    ask.add_argument("--target", default="tabby")
    ask.add_argument("--write", action="store_true", help="replace this section of RESULTS.md")
    options = ask.parse_args()
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    target = class_index(options.target, backbone.labels)
    samples = [str(path) for path in sample_paths().values()]
    images = [Image.open(path).convert("RGB") for path in samples]
    images += [image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for image in images]
    concepts = {"stripes": stripes(options.size, 0, 12), "wide stripes": stripes(options.size, 1, 48)}
    randoms = [s.items for s in random_sets(options.random_sets + 1, options.size, samples, seed=3)]
    run = {"layers": options.layers, "random": randoms}
    warm = [pictures[:10] for pictures in randoms[:3]]  # imports and first calls, on a few images
    concept_test(
        backbone, target, {"warm-up": concepts["stripes"][:10]}, images[:5], layers=options.layers, random=warm
    )
    started = time.perf_counter()
    ours = concept_test(backbone, target, concepts, images, **run, cache=False)
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        scores, baseline = captum_scores(backbone, options.layers, concepts, randoms, images, target, Path(folder))
        theirs = time.perf_counter() - started
    differences = [np.abs(ours.scores[key] - scores[key]) for key in scores]
    differences += [np.abs(ours.random_scores[layer] - baseline[layer]) for layer in baseline]
    differences = np.concatenate(differences)
    changed = int((differences > 1e-6).sum())
    shapes = ", ".join(
        f"`{layer}` ({info.channels}×{info.height}×{info.width} = {info.channels * info.height * info.width} numbers)"
        for layer in options.layers
        for info in [backbone.layer_info(layer)]
    )
    fits = (len(concepts) + 1) * options.random_sets * len(options.layers)
    rows = "\n".join(
        f"| {row['concept']} | {row['layer']} | {row['score']:.2f} ± {row['score_std']:.2f} | "
        f"{row['random_score']:.2f} | {row['p_adjusted']:.2g} | {'yes' if row['significant'] else 'no'} |"
        for row in ours.rows
    )
    text = f"""{HEADING}

- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}
- Command: `python -m benchmarks.bench_concepts --size {options.size} --random-sets {options.random_sets}`;
  {backbone.name}, class {target} ({backbone.labels[target].split(",")[0]}), layers {shapes};
  2 concepts and {options.random_sets + 1} random sets of {options.size} images, {len(images)} class images:
  {fits} CAVs each.

| | seconds | ratio | target |
|---|---:|---:|---|
| captum `TCAV.interpret` (same sets, same SGD settings and seed) | {theirs:.1f} | 1 | |
| `registry.concept_test`, no cache | {seconds:.1f} | **{theirs / seconds:.1f}×** faster | ≥ 3× |

Scores: {len(differences)} (concept or reference set, layer, random set) scores compared; {changed} differ,
the largest difference {differences.max():.3g} (one class image is {1 / len(images):.3g}).
Where the time goes: captum fits each CAV on all C·H·W numbers of every example; concept_test fits the
same SGD in the span of the examples (n ≤ {2 * options.size} coordinates; registry/audit/_cavs.py), computes every
layer in one forward (and one backward for the class), and keeps nothing on disk but its cache.

| concept | layer | TCAV score | random | p (Bonferroni) | significant |
|---|---|---:|---:|---:|---|
{rows}
"""
    publish(HEADING, text, options.write)


if __name__ == "__main__":
    main()
