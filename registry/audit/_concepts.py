"""The concept test (TCAV, Kim et al. 2018): does a human concept (stripes, a watermark, a ruler) drive a class?

For each concept and layer a concept activation vector (CAV) is the normal of a linear classifier (scikit-learn's
`SGDClassifier`, captum's default settings) that separates the concept's activations from a random set's. The TCAV
score is the share of the class's images whose class-logit gradient at the layer has a positive dot product with
the CAV: how often moving towards the concept raises the class.

One CAV is luck of the draw, so the score is taken against N random sets (default 10, as the paper asks at least):
N concept-versus-random scores, and N random-versus-random scores (a reference random set against the same N) that
show what chance gives. A two-sided t-test (`scipy.stats.ttest_ind`) compares the two; its p-values are corrected
for the number of tests made (Bonferroni, over every concept and layer). A concept whose corrected p-value is not
under `alpha` is reported as not significant: its score is a draw of chance, not a finding.

Activations are computed once per image set and layer in batches through `Backbone.prepare` and cached by the
model's weights digest (registry/audit/_activations.py); scores are matrix products, so N random sets cost N small
fits, not N passes of the model.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from registry.audit._activations import cache_folder, set_arrays
from registry.audit._cavs import LayerSpace
from registry.audit._sets import ImageSet, image_set, random_sets
from registry.evaluation import DataError, records, resolve_labels, write_csv
from registry.evaluation._extras import require
from registry.models import Backbone, class_index, load_backbone

__all__ = [
    "ALPHA",
    "COLUMNS",
    "CORRECTION",
    "MIN_CLASS_IMAGES",
    "RANDOM_SETS",
    "ConceptTest",
    "concept_test",
    "corrected",
    "significance",
]

RANDOM_SETS = 10  # Kim et al.: at least 10 random sets, each giving one CAV per concept and layer
ALPHA = 0.05
MIN_CLASS_IMAGES = 5
COLUMNS = (
    "concept",
    "layer",
    "score",
    "score_std",
    "random_score",
    "p_value",
    "p_adjusted",
    "significant",
    "effect",
    "concept_images",
    "random_sets",
    "tests",
)
CORRECTION = "Bonferroni"  # p_adjusted = p_value × tests (every concept at every layer), at most 1; as Kim et al.


def significance(concept_scores: Sequence[float], random_scores: Sequence[float]) -> float:
    """The two-sided t-test's p-value of concept-versus-random scores against random-versus-random scores; 1.0
    when it is undefined (both constant and equal: nothing tells them apart)."""
    from scipy.stats import ttest_ind

    with warnings.catch_warnings():  # scores nearly all equal: scipy warns of precision, and its p-value stands
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(ttest_ind(np.asarray(concept_scores, float), np.asarray(random_scores, float)).pvalue)
    return 1.0 if not np.isfinite(p) else p


def corrected(p_values: Sequence[float]) -> list[float]:
    """Bonferroni's correction: each p-value times the number of tests, at most 1."""
    count = len(p_values)
    return [min(1.0, p * count) for p in p_values]


@dataclass
class ConceptTest:
    """What `concept_test` gives back: one row per concept and layer (`COLUMNS`), the scores against each random set,
    the random-versus-random scores per layer, and a figure."""

    backbone: str
    target: int
    label: str
    layers: list[str]
    alpha: float
    rows: list[dict[str, Any]]
    scores: dict[tuple[str, str], np.ndarray]
    random_scores: dict[str, np.ndarray]
    seconds: float
    notes: list[str] = field(default_factory=list)
    _figure: Image.Image | None = field(default=None, repr=False)

    def row(self, concept: str, layer: str) -> dict[str, Any]:
        """The row of one concept at one layer."""
        return next(row for row in self.rows if row["concept"] == concept and row["layer"] == layer)

    def verdicts(self) -> list[str]:
        """Each row in a sentence: a significant score and what it does to the class, or "not significant" (never a
        bare score)."""
        said = []
        for row in self.rows:
            where = f"{row['concept']} at {row['layer']}"
            p = f"p = {row['p_adjusted']:.2g} after {CORRECTION}'s correction for {row['tests']} test(s)"
            if not row["significant"]:
                said.append(f"{where}: not significant ({p}; alpha {self.alpha})")
                continue
            does = "drives the class" if row["effect"] == "raises" else "works against the class"
            said.append(
                f"{where}: {does}, TCAV score {row['score']:.2f} (random {row['random_score']:.2f}), significant ({p})"
            )
        return said

    @property
    def figure(self) -> Image.Image:
        """TCAV scores per layer and concept, ± their spread over the random sets, the random baseline as a line,
        a star over each significant bar and "n.s." over the others (drawn hollow)."""
        if self._figure is None:
            self._figure = _figure(self)
        return self._figure

    def save(self, out: str | Path) -> Path:
        """concepts.csv, concepts.parquet (when pyarrow is installed) and concepts.png in `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(out / "concepts.csv", COLUMNS, self.rows)
        try:
            pa = require("pyarrow")
            require("pyarrow.parquet").write_table(
                pa.Table.from_pylist([{key: row[key] for key in COLUMNS} for row in self.rows]),
                out / "concepts.parquet",
            )
        except ImportError:
            self.notes.append('concepts.parquet needs pyarrow: pip install "cnn-lens[evaluate]".')
        self.figure.save(out / "concepts.png")
        return out


def concept_test(
    backbone: Backbone | str,
    target: int | str,
    concepts: Mapping[str, Any],
    data: Any = "samples",
    *,
    layers: Sequence[str] | None = None,
    random: Sequence[Any] | None = None,
    random_sets: int = RANDOM_SETS,
    random_size: int | None = None,
    alpha: float = ALPHA,
    seed: int = 0,
    batch_size: int = 16,
    cache: bool | str | Path = True,
    progress: Callable[[float, str], None] | None = None,
) -> ConceptTest:
    """Test whether each concept drives the class `target` of `backbone` (TCAV with its significance test).

    Args:
        backbone: a `Backbone` or a model name.
        target: the class, by number or name.
        concepts: concept name → its images: a folder, a zip (Evaluate's rules), or a list of files / pictures;
            at least `MIN_IMAGES` each.
        data: the class's images: a folder (by class: the target's folder is used; or unlabelled), a manifest or
            "samples" (their images labelled `target`), or a zip or a list of files / pictures (all of them); at
            least `MIN_CLASS_IMAGES`.
        layers: the layers to test (default: a middle stage and the default layer).
        random: random sets given by the user (folders, zips or lists), at least 3; the first is the reference
            set of the random-versus-random scores. None: `random_sets` + 1 sets made of random crops of the
            class's images and the bundled samples.
        random_size: images per made random set (default: the largest concept's count).
        alpha: the significance level, after Bonferroni's correction over concepts × layers.
        cache: True for `concepts/` in the data folder, a folder, or False for none.
        progress: called as ``progress(fraction, words)``.

    Raises:
        DataError: a set too small or empty, no concept, a class without images, in words.
    """
    started = time.perf_counter()
    backbone = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
    try:
        target = class_index(target, backbone.labels)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if not concepts:
        raise DataError("Give at least one concept: a name and a folder, zip or list of its images.")
    layers = list(dict.fromkeys(layers or _default_layers(backbone)))
    for layer in layers:
        backbone.module(layer)  # an unknown layer, or one without a map, in words
    folder = cache_folder() if cache is True else (Path(cache) if cache else None)
    with tempfile.TemporaryDirectory(prefix="cnnlens-concepts-") as work:
        work = Path(work)
        named = [image_set(str(name), given, work) for name, given in concepts.items()]
        images = _class_images(backbone, target, data, work)
        randoms = _random_sets(random, random_sets, random_size or max(map(len, named)), images, seed, work)
        total = sum(map(len, named)) + sum(map(len, randoms)) + len(images)
        done = [0]

        def step(count: int) -> None:
            done[0] += count
            if progress is not None:
                progress(0.9 * done[0] / total, f"layer activations: {done[0]}/{total} images")

        run = {"batch_size": batch_size, "cache": folder, "step": step}
        gradients = set_arrays(backbone, images, layers, target, **run)
        activations = {s.key: set_arrays(backbone, s, layers, **run) for s in [*named, *randoms]}
    if progress is not None:
        progress(0.9, "fitting concept activation vectors")
    others = randoms[1:]  # randoms[0] is the reference set of the random-versus-random scores
    scores: dict[tuple[str, str], np.ndarray] = {}
    baseline: dict[str, np.ndarray] = {}
    sets = [*named, *randoms]
    for layer in layers:
        space = LayerSpace([activations[s.key][layer] for s in sets], gradients[layer])
        against = range(len(named) + 1, len(sets))  # the random sets after the reference
        baseline[layer] = np.array([space.tcav_score(len(named), r, seed) for r in against])
        for index, concept in enumerate(named):
            scores[(concept.name, layer)] = np.array([space.tcav_score(index, r, seed) for r in against])
    rows = _rows(named, layers, scores, baseline, alpha, len(others))
    notes = [note for s in [*named, *randoms] for note in s.notes]
    if len(named) == 1:
        notes.append(
            f"One concept only ('{named[0].name}'): {CORRECTION}'s correction counts its {len(layers)} layer(s) alone; "
            "with several concepts every one tested is counted, so each needs stronger evidence. Its score is "
            "against random sets, not against other concepts."
        )
    if random is not None and len(others) < RANDOM_SETS:
        notes.append(f"{len(others)} random sets compared; Kim et al. ask at least {RANDOM_SETS}.")
    if progress is not None:
        progress(1.0, "done")
    return ConceptTest(
        backbone.name,
        target,
        backbone.labels[target],
        layers,
        alpha,
        rows,
        scores,
        baseline,
        time.perf_counter() - started,
        notes,
    )


def _rows(
    named: Sequence[ImageSet],
    layers: Sequence[str],
    scores: dict[tuple[str, str], np.ndarray],
    baseline: dict[str, np.ndarray],
    alpha: float,
    count: int,
) -> list[dict[str, Any]]:
    keys = [(concept.name, layer) for concept in named for layer in layers]
    raw = [significance(scores[key], baseline[key[1]]) for key in keys]
    sizes = {concept.name: len(concept) for concept in named}
    return [
        {
            "concept": name,
            "layer": layer,
            "score": float(scores[(name, layer)].mean()),
            "score_std": float(scores[(name, layer)].std()),
            "random_score": float(baseline[layer].mean()),
            "p_value": p,
            "p_adjusted": adjusted,
            "significant": bool(adjusted < alpha),
            "effect": _effect(adjusted < alpha, scores[(name, layer)].mean(), baseline[layer].mean()),
            "concept_images": sizes[name],
            "random_sets": count,
            "tests": len(keys),
        }
        for (name, layer), p, adjusted in zip(keys, raw, corrected(raw))
    ]


def _effect(significant: bool, score: float, chance: float) -> str:
    """What a significant concept does to the class: "raises" it (scores above chance's) or "lowers" it; "" when
    the test is not significant (Kim et al.'s test is two-sided: a concept may work against a class)."""
    if not significant or score == chance:
        return ""
    return "raises" if score > chance else "lowers"


def _default_layers(backbone: Backbone) -> list[str]:
    found = [backbone.suggested_layer("middle"), backbone.default_layer]
    return [layer for layer in found if layer]


def _class_images(backbone: Backbone, target: int, data: Any, work: Path) -> ImageSet:
    """The class's images: a labelled dataset's records of `target`, or every image of an unlabelled one."""
    name = f"images of {backbone.labels[target].split(',')[0]}"
    if not isinstance(data, (str, Path)) or Path(data).suffix.lower() == ".zip":  # a list, or a zip: all of it
        return image_set(name, data, work, MIN_CLASS_IMAGES)
    found = records(data)
    if any(record.label is not None for record in found):
        classes = resolve_labels((record.label for record in found), backbone)
        found = [record for record in found if record.label is not None and target in classes[record.label]]
        if not found:
            raise DataError(f"The data holds no images labelled {backbone.labels[target]!r} (class {target}).")
    return image_set(name, [record.path for record in dict.fromkeys(found)], work, MIN_CLASS_IMAGES)


def _random_sets(
    given: Sequence[Any] | None, count: int, size: int, images: ImageSet, seed: int, work: Path
) -> list[ImageSet]:
    if given is None:
        if count < 2:
            raise DataError("The significance test needs at least 2 random sets (Kim et al. ask 10 or more).")
        return random_sets(count + 1, size, images.items, seed)
    made = [image_set(f"random {number}", item, work) for number, item in enumerate(given)]
    if len(made) < 3:
        raise DataError(
            f"{len(made)} random set(s) given; the test needs at least 3 (one reference set and two to compare "
            f"against; Kim et al. ask {RANDOM_SETS + 1})."
        )
    return made


def _figure(test: ConceptTest) -> Image.Image:
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from registry.analysis._figures import _to_image

    concepts = list(dict.fromkeys(row["concept"] for row in test.rows))
    figure = Figure(figsize=(max(4.5, 1.2 + 1.1 * len(test.layers) * max(1, len(concepts)) ** 0.6), 3.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(concepts))
    palette = colormaps["tab10"]
    for index, concept in enumerate(concepts):
        for position, layer in enumerate(test.layers):
            row = test.row(concept, layer)
            x = position - 0.4 + width * (index + 0.5)
            colour = palette(index % 10)
            axes.bar(
                x,
                row["score"],
                width * 0.9,
                yerr=row["score_std"],
                color=colour if row["significant"] else "none",
                edgecolor=colour,
                linewidth=1.2,
                label=concept if position == 0 else None,
                capsize=2,
            )
            axes.text(
                x,
                min(1.02, row["score"] + row["score_std"] + 0.02),
                "*" if row["significant"] else "n.s.",
                ha="center",
                fontsize=10 if row["significant"] else 7,
            )
    for position, layer in enumerate(test.layers):
        axes.hlines(test.random_scores[layer].mean(), position - 0.45, position + 0.45, colors="grey", linestyles="--")
    axes.set_xticks(range(len(test.layers)), test.layers, fontsize=8)
    axes.set_ylim(0, 1.1)
    axes.set_ylabel("TCAV score", fontsize=9)
    axes.set_title(
        f"{test.backbone}, class {test.target} ({test.label.split(',')[0]}): * significant, n.s. not; dashed: random",
        fontsize=8.5,
    )
    axes.legend(fontsize=7.5, loc="upper right")
    figure.tight_layout()
    return _to_image(figure)
