"""Deep Feature Factorization (Collins et al., 2018): a layer's activations split into a few concepts by
non-negative matrix factorisation; equal to pytorch-grad-cam's DeepFeatureFactorization (tested).

A − min_k(A) ≈ W H, with A the layer's (channels × locations) activations less each channel's minimum, W ≥ 0 the
concepts (one channel vector each, the minimum added back), H ≥ 0 where each concept lies; scikit-learn's NMF with
pytorch-grad-cam's settings (random start, seed 0). A concept's classes are the classifier's on its channel vector,
as if it were the pooled features (possible where the layer feeds the classifier's pooling).
"""

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from registry import Context, Param, Plugin, render


class DeepFeatureFactorization(Plugin):
    name = "deep_feature_factorization"
    title = "Deep Feature Factorization"
    family = "decomposition"
    description = (
        "Splits what a layer sees into a few concepts, with no class in mind: the layer's channels are factorised "
        "into groups that fire together (non-negative matrix factorisation), and each group gets a colour where "
        "it lies in the image. At the final layer, each concept also gets the classes the classifier gives it."
    )
    how_to_read = (
        "Each colour is one concept, painted where it is strongest, brighter where it is stronger. The classes "
        "beside a concept are what the classifier would say if the image held only that concept: a concept on "
        "the cat that scores 'tabby' is part of the cat evidence; one on the sofa that scores 'studio couch' is "
        "the background's."
    )
    pitfalls = (
        "The number of concepts is your choice, and the split changes with it: two concepts may merge, or one "
        "split in two. Concepts are found in this image alone, so concept 1 here and concept 1 on another image "
        "are unrelated. Classes are named only at a layer the classifier reads directly."
    )
    needs_layer = True
    reads = ("activations",)
    cost = "moderate"
    output = "images"
    params = (
        Param("concepts", "int", 4, label="Concepts", minimum=2, maximum=10, step=1, help="How many to split into."),
        Param("classes", "int", 2, label="Classes per concept", minimum=1, maximum=5, step=1),
    )

    def compute(self, ctx: Context):
        activations = ctx.activations[0].float().cpu()  # (C, h, w)
        concepts, maps = factorize(activations, ctx.params["concepts"], ctx.notes)
        named = self._classes(ctx, concepts)
        strengths = _over_view(maps, ctx.view_size)
        lines = [
            f"{index + 1}: " + (", ".join(f"{label} ({p:.2f})" for _, label, p in named[index]) or "—")
            for index in range(len(maps))
        ]
        colors = render.concept_colors(len(maps))
        tiles = [render.overlay(ctx.view, strength, "inferno", 0.6).resize((160, 160)) for strength in strengths]
        return [
            (
                render.concepts(ctx.view, strengths),
                f"{len(maps)} concepts at {ctx.layer} ({activations.shape[1]}×{activations.shape[2]}), each in its "
                "colour: " + "; ".join(lines),
            ),
            (
                render.grid(tiles, [f"{i + 1}" for i in range(len(maps))], below=[_swatch(c) for c in colors]),
                "each concept alone (bright where it is strong): " + "; ".join(lines),
            ),
            (ctx.view, f"what the model saw ({ctx.view.width}×{ctx.view.height})"),
        ]

    def _classes(self, ctx: Context, concepts: torch.Tensor) -> list[list[tuple[int, str, float]]]:
        """Each concept's top classes by the classifier on its channel vector, or none (with a note why)."""
        classifier = ctx.model.get_classifier() if callable(getattr(ctx.model, "get_classifier", None)) else None
        if ctx.backbone.num_classes == 0 or not isinstance(classifier, nn.Linear):
            ctx.notes.append("Concepts are not named: this model's classifier is not one linear layer.")
            return [[] for _ in range(concepts.shape[1])]
        if classifier.in_features != concepts.shape[0]:
            ctx.notes.append(
                f"Concepts are not named: {ctx.layer} has {concepts.shape[0]} channels and the classifier reads "
                f"{classifier.in_features}; choose the last layer before the pooling to name them."
            )
            return [[] for _ in range(concepts.shape[1])]
        with torch.no_grad():
            logits = classifier(concepts.T.to(classifier.weight))
        probabilities = ctx.backbone.activate(logits).cpu()
        return [ctx.backbone.ranked(row, ctx.params["classes"]) for row in probabilities]


def factorize(activations: torch.Tensor, count: int, notes: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(concepts (C, count), maps (count, h, w)) of a (C, h, w) layer output, by pytorch-grad-cam's recipe: each
    channel less its minimum, factorised by scikit-learn's NMF from a random start with seed 0."""
    from sklearn.decomposition import NMF  # here: scikit-learn loads on first use
    from sklearn.exceptions import ConvergenceWarning

    flat = np.nan_to_num(activations.flatten(1).numpy())
    offset = flat.min(axis=1, keepdims=True)
    nmf = NMF(n_components=count, init="random", random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        weights = nmf.fit_transform(flat - offset)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(f"The factorisation stopped at its {nmf.max_iter} iterations before it converged.")
    concepts = torch.from_numpy(weights + offset).float()
    return concepts, torch.from_numpy(nmf.components_).float().reshape(count, *activations.shape[1:])


def _over_view(maps: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(K, h, w) → (K, H, W) upsampled to the view, each stretched to [0, 1] on its own range."""
    upsampled = F.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]
    low = upsampled.flatten(1).amin(dim=1)[:, None, None]
    span = upsampled.flatten(1).amax(dim=1)[:, None, None] - low
    return ((upsampled - low) / torch.where(span > 0, span, torch.ones_like(span))).numpy()


def _swatch(color: tuple[int, int, int]):
    """A strip in a concept's colour, under its tile."""
    from PIL import Image

    return Image.new("RGB", (160, 10), color)
