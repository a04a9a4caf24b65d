"""How alike two maps are: Spearman rank correlation and SSIM, written here so no SciPy is needed.

The randomization check (registry/analysis/_sanity.py) asks whether a map changes when the model does.
Adebayo et al. (2018) answer with the rank correlation of the two maps and their structural
similarity; both are small enough to compute with numpy and torch alone.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SSIM_WINDOW = 11  # Gaussian window of Wang et al. (2004): 11 × 11, sigma 1.5
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a flat array; tied values share the mean of the ranks they span.

    Ties matter here: a Grad-CAM map is zero over much of the image, and giving those pixels
    arbitrary distinct ranks would invent an ordering the map does not have.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # the highest rank each distinct value reaches
    return (last - (counts - 1) / 2.0)[inverse]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two maps of the same shape; NaN when either map is flat (no ranking at all)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"Both maps must have the same shape; got {a.shape} and {b.shape}.")
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / norm) if norm > 0 else float("nan")


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Mean structural similarity of two 2-D maps (Gaussian window, as Wang et al. 2004); 1 = identical."""
    a_t = torch.as_tensor(np.asarray(a, dtype=np.float64))
    b_t = torch.as_tensor(np.asarray(b, dtype=np.float64))
    if a_t.shape != b_t.shape or a_t.ndim != 2:
        raise ValueError(
            f"SSIM compares two 2-D maps of the same shape; got {tuple(a_t.shape)} and {tuple(b_t.shape)}."
        )
    if min(a_t.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs maps of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels; got {tuple(a_t.shape)}.")
    offsets = torch.arange(SSIM_WINDOW, dtype=torch.float64) - (SSIM_WINDOW - 1) / 2
    line = torch.exp(-(offsets**2) / (2 * SSIM_SIGMA**2))
    line = line / line.sum()
    window = (line[:, None] * line[None, :])[None, None]

    def local_mean(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t[None, None], window)[0, 0]  # "valid": only windows that lie inside the map

    mu_a, mu_b = local_mean(a_t), local_mean(b_t)
    var_a = local_mean(a_t * a_t) - mu_a**2
    var_b = local_mean(b_t * b_t) - mu_b**2
    cov = local_mean(a_t * b_t) - mu_a * mu_b
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(index.mean())
