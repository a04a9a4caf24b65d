"""Rank correlation and SSIM, the two measures of the randomization check."""

import numpy as np
import pytest

from registry.analysis import average_ranks, rank_correlation, ssim


def test_ties_share_the_mean_of_their_ranks():
    assert average_ranks(np.array([10, 20, 20, 5, 20])).tolist() == [2.0, 4.0, 4.0, 1.0, 4.0]


def test_rank_correlation_ignores_scale_and_sees_order():
    rng = np.random.default_rng(0)
    a = rng.random((32, 32))
    assert rank_correlation(a, np.exp(3 * a)) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert abs(rank_correlation(a, rng.random((32, 32)))) < 0.1
    assert np.isnan(rank_correlation(a, np.zeros_like(a)))  # a flat map ranks nothing


def test_rank_correlation_equals_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    a = np.where(rng.random((40, 40)) < 0.5, 0.0, rng.random((40, 40)))  # half zeros, like a Grad-CAM map
    b = np.round(a + 0.3 * rng.random((40, 40)), 1)
    assert rank_correlation(a, b) == pytest.approx(stats.spearmanr(a.ravel(), b.ravel()).statistic, abs=1e-12)


def test_ssim_is_one_for_equal_maps_and_falls_with_noise():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:64, 0:64]
    blob = np.exp(-((yy - 30) ** 2 + (xx - 25) ** 2) / 200.0)
    assert ssim(blob, blob) == pytest.approx(1.0)
    scores = [ssim(blob, np.clip(blob + level * rng.standard_normal(blob.shape), 0, 1)) for level in (0.02, 0.1, 0.3)]
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.5
    assert ssim(blob, 1 - blob) < 0
    with pytest.raises(ValueError, match="same shape"):
        ssim(blob, blob[:32])
