"""captum's `TCAV` run on the sets `registry.concept_test` is given: the independent scores the concept test is
checked against (tests/registry/audit/test_concepts.py) and timed against (benchmarks/bench_concepts.py); and
`stripes`, the concept both show it.

captum's CAV classifier is pluggable (`captum.concept._utils.classifier.Classifier`); here it is scikit-learn's
`SGDClassifier` with captum's default settings and concept_test's seed, fitted on every example (captum's default
holds a third out for an accuracy), so both fit the same CAVs and any difference is in the pipeline: activations,
gradients, directions, scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from registry import Backbone

__all__ = ["captum_scores", "stripes"]

CAV_SETTINGS = {"alpha": 0.01, "max_iter": 1000, "tol": 1e-3}  # captum's DefaultClassifier's SGDClassifier


def captum_scores(
    backbone: Backbone,
    layers: Sequence[str],
    concepts: Mapping[str, Sequence[Image.Image | str]],
    randoms: Sequence[Sequence[Image.Image | str]],
    images: Sequence[Image.Image | str],
    target: int,
    save_path: Path,
    seed: int = 0,
) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """(scores per (concept, layer) against randoms[1:], random-versus-random scores per layer: randoms[0] against
    randoms[1:]), as `ConceptTest.scores` and `.random_scores` hold them; captum's sign_count scores."""
    from captum.concept import TCAV, Concept
    from captum.concept._utils.classifier import Classifier
    from sklearn.linear_model import SGDClassifier

    class SameSGD(Classifier):
        def __init__(self) -> None:
            self.model, self.ids = None, None

        def train_and_eval(self, dataloader, **kwargs):
            inputs, labels = zip(*dataloader)
            x, y = torch.cat(inputs).numpy(), torch.cat(labels).numpy()
            self.ids = [int(label) for label in dict.fromkeys(y[::-1])]  # [the other set's id, the concept's id]
            concept = (y == y[0]).astype(np.int64)  # the concept's examples come first, as concept_test orders them
            self.model = SGDClassifier(**CAV_SETTINGS, random_state=seed).fit(x, concept)
            return {"accs": self.model.score(x, concept)}

        def weights(self) -> torch.Tensor:
            w = torch.tensor(self.model.coef_[0], dtype=torch.float32)
            return torch.stack([-w, w])

        def classes(self) -> list[int]:
            return self.ids

    def batches(pictures: Sequence[Image.Image | str]) -> list[torch.Tensor]:
        return [torch.cat([backbone.prepare(picture)[0] for picture in pictures])]

    named = [*concepts.items(), *((f"random {i}", pictures) for i, pictures in enumerate(randoms))]
    made = [Concept(i, name, batches(pictures)) for i, (name, pictures) in enumerate(named)]
    first = len(concepts) + 1  # randoms[1] onwards are compared against
    tested = made[:first]  # each concept, then the reference random set
    sets = [[concept, made[r]] for concept in tested for r in range(first, len(made))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tcav = TCAV(backbone.model, list(layers), classifier=SameSGD(), save_path=str(save_path))
        theirs = tcav.interpret(torch.cat(batches(images)), sets, target=target)
    scores, baseline = {}, {}
    for layer in layers:
        for concept in tested:
            found = np.array(
                [float(theirs[f"{concept.id}-{r}"][layer]["sign_count"][0]) for r in range(first, len(made))]
            )
            if concept.id < len(concepts):
                scores[(concept.name, layer)] = found
            else:
                baseline[layer] = found
    return scores, baseline


def stripes(count: int, seed: int, period: int = 12) -> list[Image.Image]:
    """Striped pictures of random colours, phases and sizes (mixed sizes on purpose: the preprocessing fits them)."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        width, height = (int(v) for v in rng.integers(90, 300, 2))
        phase = (np.arange(width) + int(rng.integers(period))) // (period // 2) % 2
        colours = rng.integers(0, 256, (2, 3))
        made.append(Image.fromarray(colours[np.tile(phase, (height, 1))].astype(np.uint8)))
    return made
