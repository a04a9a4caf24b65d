"""Each metric against a case small enough to work out by hand."""

import math

import numpy as np
import pytest

from registry.evaluation import auc, bootstrap_interval, energy_in, grid_share, peak, pointing_hit, top_k_hit


def test_top_k_counts_any_of_the_right_classes():
    probabilities = np.array([0.1, 0.5, 0.05, 0.3, 0.05])  # ranked: 1, 3, 0, then 2 and 4 tied (2 first)
    assert top_k_hit(probabilities, [1], 1) and not top_k_hit(probabilities, [3], 1)
    assert top_k_hit(probabilities, [3], 2) and not top_k_hit(probabilities, [0], 2)
    assert top_k_hit(probabilities, [4, 3], 2)  # a label with two right classes: either counts
    assert top_k_hit(probabilities, [2], 4) and not top_k_hit(probabilities, [4], 4)  # a tie goes to the lower class


def test_peak_is_the_first_maximum_in_raster_order():
    heatmap = np.zeros((4, 5))
    heatmap[2, 3] = heatmap[3, 1] = 7.0
    assert peak(heatmap) == (2, 3)


@pytest.mark.parametrize(
    ("point", "hit"),
    [
        ((20, 30), True),  # inside
        ((10, 20), True),  # on the corner pixel
        ((0, 20), True),  # 10 px left of the first column: within 15
        ((-5, 20), False),  # 15 px away: TorchRay's test is strict (< 15)
        ((45, 60), True),  # the last pixel in is (39, 49): 6 and 11 px off, 36 + 121 < 225
        ((50, 60), False),  # 11 and 11 px off: 242 > 225
    ],
)
def test_pointing_game_box_with_tolerance(point, hit):
    # The box 10,20,40,50 holds the pixels whose centres it holds: columns 10-39, rows 20-49.
    assert pointing_hit(point, box=(10, 20, 40, 50), tolerance=15) is hit


def test_pointing_game_mask_and_zero_tolerance():
    mask = np.zeros((50, 50), dtype=bool)
    mask[10, 10] = True
    assert pointing_hit((13, 14), mask=mask, tolerance=15)  # 3² + 4² = 25 < 225
    assert not pointing_hit((13, 14), mask=mask, tolerance=5)  # 25 is not < 25
    assert pointing_hit((10, 10), mask=mask, tolerance=1) and not pointing_hit((11, 10), mask=mask, tolerance=1)
    assert not pointing_hit((10, 10), mask=np.zeros((5, 5), bool))
    assert not pointing_hit((10, 10), box=(10, 10, 11, 11), tolerance=0)  # nothing is closer than 0
    with pytest.raises(ValueError, match="box or mask"):
        pointing_hit((1, 1))


def test_energy_is_the_share_of_positive_mass_inside():
    heatmap = np.array([[1.0, 3.0], [-2.0, 4.0]])  # positive mass 8; the negative value counts for nothing
    region = np.array([[False, True], [True, False]])
    assert energy_in(heatmap, region) == pytest.approx(3 / 8)
    assert math.isnan(energy_in(np.zeros((2, 2)), region))


def test_grid_share_reads_the_target_cell():
    heatmap = np.zeros((4, 6))
    heatmap[:2, :3] = 1.0  # top left: 6
    heatmap[2:, 3:] = 3.0  # bottom right: 18
    assert grid_share(heatmap, 0) == pytest.approx(6 / 24)
    assert grid_share(heatmap, 3) == pytest.approx(18 / 24)
    assert grid_share(heatmap, 1) == 0.0
    assert grid_share(np.ones((4, 6)), 2) == pytest.approx(0.25)  # a uniform map: 1 / cells


def test_auc_is_the_trapezoid_area():
    assert auc([1.0, 0.5, 0.0], [0.0, 0.5, 1.0]) == pytest.approx(0.5)
    assert auc([1.0, 0.0, 0.0], [0.0, 0.5, 1.0]) == pytest.approx(0.25)


def test_bootstrap_interval_is_seeded_and_holds_the_mean():
    values = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    low, high = bootstrap_interval(values)
    assert (low, high) == bootstrap_interval(values)
    assert 0.3 < low < 0.7 < high <= 1.0
    assert bootstrap_interval([0.4]) == (0.4, 0.4)
    assert all(math.isnan(v) for v in bootstrap_interval([]))
