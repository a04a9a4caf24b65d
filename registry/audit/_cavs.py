"""Concept activation vectors fitted where the examples live: the span of their activations, not all C·H·W numbers.

A CAV is the weight vector of a linear classifier (scikit-learn's `SGDClassifier` with captum's `DefaultClassifier`
settings: hinge loss, alpha 0.01, 1000 epochs, tol 1e-3) trained on two sets' flattened layer activations X (n
rows of D = C·H·W numbers, n ≪ D). Every SGD step adds a multiple of an example to w (or shrinks w), so w stays in
the span of the examples, and only dot products w·x enter the steps. In an orthonormal basis of that span (X = U S
Vᵀ: coordinates Z = U S, n × n) the same steps give the same w, as V·w_z, from the same seed and order: the fit
costs n features instead of D, and nothing but the Gram matrix X Xᵀ and the class's gradients against the examples
(g Xᵀ) is needed, since g·w = (g Xᵀ) U S⁻¹ w_z. The Gram matrix of every set at a layer is computed once and each
pair of sets reads its block: N random sets cost N small fits.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["CAV_SETTINGS", "LayerSpace"]

CAV_SETTINGS = {"alpha": 0.01, "max_iter": 1000, "tol": 1e-3}  # captum's DefaultClassifier's SGDClassifier
_CHUNK = 8192  # columns of the activations turned into float64 at a time
_RANK = 1e-12  # eigenvalues under this share of the largest are rounding, not a direction of the span


class LayerSpace:
    """One layer's image sets (stacked, as their Gram matrix) and the class's gradients against each example."""

    def __init__(self, sets: Sequence[np.ndarray], gradients: np.ndarray):
        self.offsets = np.cumsum([0, *(len(s) for s in sets)])
        stacked = np.concatenate(sets)
        self.gram = np.zeros((len(stacked), len(stacked)))
        self.cross = np.zeros((len(gradients), len(stacked)))
        for start in range(0, stacked.shape[1], _CHUNK):
            part = stacked[:, start : start + _CHUNK].astype(np.float64)
            self.gram += part @ part.T
            self.cross += gradients[:, start : start + _CHUNK].astype(np.float64) @ part.T
        self.stopped_early = 0  # fits that reached max_iter before tol (sklearn's ConvergenceWarning)

    def derivatives(self, positive: int, negative: int, seed: int = 0) -> np.ndarray:
        """Each class image's directional derivative along the CAV of set `positive` against set `negative`."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDClassifier

        rows = np.r_[
            self.offsets[positive] : self.offsets[positive + 1], self.offsets[negative] : self.offsets[negative + 1]
        ]
        values, vectors = np.linalg.eigh(self.gram[np.ix_(rows, rows)])
        keep = values > _RANK * max(values.max(), np.finfo(float).tiny)
        values, vectors = values[keep], vectors[:, keep]
        coordinates = vectors * np.sqrt(values)  # Z = U S: the examples in an orthonormal basis of their span
        labels = np.r_[np.ones(self.offsets[positive + 1] - self.offsets[positive], dtype=np.int64),
                       np.zeros(self.offsets[negative + 1] - self.offsets[negative], dtype=np.int64)]  # fmt: skip
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = SGDClassifier(**CAV_SETTINGS, random_state=seed).fit(coordinates, labels)
        self.stopped_early += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return (self.cross[:, rows] @ vectors) @ (model.coef_[0] / np.sqrt(values))

    def tcav_score(self, positive: int, negative: int, seed: int = 0) -> float:
        """The share of class images whose class gradient has a positive derivative along the CAV (Kim et al.)."""
        return float((self.derivatives(positive, negative, seed) > 0).mean())
