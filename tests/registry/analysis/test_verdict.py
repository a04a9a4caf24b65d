"""The trust section's verdict over constructed numbers: "beats random" only when the map beats both the random maps
(outside their spread, with enough of them) and its own reverse order, on both curves; otherwise the failed tests."""

import math

import numpy as np
import pytest

from registry.analysis import CLEAR_SPREADS, MIN_SEEDS, CurveTest, FaithfulnessScore, Verdict

FRACTIONS = np.linspace(0, 1, 5)


def flat(value: float) -> np.ndarray:
    """A curve whose area over [0, 1] is `value`."""
    return np.full(FRACTIONS.size, value)


def around(mean: float, spread: float, seeds: int = 5) -> list[float]:
    """Areas of `seeds` random maps with this mean and sample standard deviation."""
    z = np.arange(seeds) - (seeds - 1) / 2
    return list(mean + spread * z / z.std(ddof=1))


def scored(deletion, insertion, random_deletion, random_insertion, inverse=(0.6, 0.1)) -> FaithfulnessScore:
    """A score with curves of the given areas (the random ones one row per seed)."""
    curves = {
        "deletion": flat(deletion),
        "insertion": flat(insertion),
        "random_deletion": np.stack([flat(v) for v in random_deletion]),
        "random_insertion": np.stack([flat(v) for v in random_insertion]),
    }
    if inverse is not None:
        curves |= {"inverse_deletion": flat(inverse[0]), "inverse_insertion": flat(inverse[1])}
    return FaithfulnessScore("gradcam", "lite0", 282, "tiger cat", 4, "blur", "zero", FRACTIONS, curves)


def test_a_map_that_beats_both_on_both_curves_beats_random():
    verdict = Verdict(
        (CurveTest("deletion", 0.20, 0.40, 0.05, 0.50, 8), CurveTest("insertion", 0.60, 0.40, 0.05, 0.30, 8))
    )
    assert verdict.beats_random and verdict.failures == ()


def test_below_its_reverse_order_fails_whatever_the_random_maps_say():
    insertion = CurveTest("insertion", 0.242, 0.100, 0.010, 0.260, 8)  # far above random, below its own reverse
    assert insertion.beats_random and not insertion.beats_inverse
    (sentence,) = insertion.failures()
    assert "reverse order" in sentence and "0.242" in sentence and "0.260" in sentence
    deletion = CurveTest("deletion", 0.30, 0.60, 0.01, 0.29, 8)
    assert not deletion.beats_inverse and "no lower than its own reverse order" in deletion.failures()[0]
    assert not Verdict((deletion, CurveTest("insertion", 0.6, 0.4, 0.01, 0.3, 8))).beats_random


@pytest.mark.parametrize("gain", [0.0, 0.01, CLEAR_SPREADS * 0.035 - 1e-6])
def test_within_the_random_spread_fails(gain):
    deletion = CurveTest("deletion", 0.376 - gain, 0.376, 0.035, 0.5, 8)
    assert not deletion.beats_random and not deletion.worse_than_random
    (sentence,) = deletion.failures()
    assert f"within {CLEAR_SPREADS:g} spreads of the random maps'" in sentence and "0.376 ± 0.035" in sentence


def test_clearly_worse_than_random_says_so():
    insertion = CurveTest("insertion", 0.10, 0.40, 0.05, 0.05, 8)
    assert insertion.worse_than_random and "worse than the random maps'" in insertion.failures()[0]


def test_too_few_random_maps_or_no_reverse_order_give_no_verdict():
    few = CurveTest("deletion", 0.10, 0.40, 0.01, 0.50, MIN_SEEDS - 1)  # far better, but a spread of two means little
    assert not few.beats_random and "too few for a spread" in few.failures()[0]
    unscored = CurveTest("insertion", 0.60, 0.40, 0.01, math.nan, 8)
    assert unscored.beats_random and unscored.failures() == ["insertion: its reverse order was not scored"]


def test_identical_random_maps_have_no_spread_to_hide_in():
    assert CurveTest("deletion", 0.39, 0.40, 0.0, 0.5, 8).beats_random  # any gain is outside a spread of zero
    assert not CurveTest("deletion", 0.40, 0.40, 0.0, 0.5, 8).beats_random


def test_a_score_judges_its_own_curves_and_says_so_as_data():
    # The cat: deletion 0.328 against 0.376 ± 0.035, insertion 0.242 below its reverse 0.260.
    score = scored(0.328, 0.242, around(0.376, 0.035), around(0.11, 0.01), inverse=(0.40, 0.260))
    assert score.random_deletion_spread == pytest.approx(0.035)  # the sample standard deviation (ddof 1)
    data = score.as_dict()
    assert data["beats_random"] is False and len(data["fails"]) == 2
    assert data["fails"][0].startswith("deletion: its AUC is within") and "reverse order" in data["fails"][1]
    good = scored(0.10, 0.60, around(0.35, 0.05), around(0.25, 0.05))
    assert good.seeds == 5 and scored(0.10, 0.60, [0.3, 0.4], [0.2, 0.3]).as_dict()["fails"][0].startswith(
        "deletion: only 2 random maps scored, too few"
    )
    assert good.verdict.beats_random and good.as_dict()["fails"] == []
