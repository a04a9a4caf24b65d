"""Make it fail: controlled changes move the answer and the map; covering the Grad-CAM region hurts
the prediction more than covering a random region of the same size."""

import numpy as np
import pytest
import torch

import registry
from registry.imaging import samples
from registry.teaching import fail


def test_an_unchanged_view_is_the_input_prepare_gives(lite0, samples):
    x, view = lite0.prepare(samples["rocket"])
    assert torch.equal(lite0.view_tensor(view), x)  # one preprocessing path
    with pytest.raises(ValueError, match="sees 224×224"):
        lite0.view_tensor(view.resize((100, 100)))


@pytest.mark.parametrize("name", ["tf_efficientnet_lite0", "tf_efficientnet_lite2"])
def test_the_rocket_upside_down_changes_the_top1(name, samples):
    backbone = registry.load_backbone(name, device="cpu")
    result = fail.make_it_fail(backbone, samples["rocket"], "upside_down")
    before, after = result.before.top5[0], result.after.top5[0]
    print(f"\n{name}: rocket upright {before}, upside down {after}")
    assert after[0] != before[0]
    rocket = registry.imaging.samples.labelled_samples()["rocket"]
    assert after[0] not in rocket.classes
    if before[0] in rocket.classes:
        assert "a right answer turned wrong" in result.sentence
    assert f"{after[0]} {after[1]}" in result.sentence


def test_covering_the_gradcam_region_hurts_more_than_a_random_region(lite0):
    """On every labelled sample the default backbone gets right; it must hold on at least three."""
    rows = []
    for sample in samples.labelled_samples().values():
        top1 = lite0.predict(sample.path, k=1)[0][0]
        if samples.judge(sample, top1).right:
            test = fail.cover_test(lite0, sample.path)
            rows.append((sample.name, test))
    print("\nsample: p, p after covering the Grad-CAM square, drop there vs mean drop over random squares")
    for name, test in rows:
        print(
            f"  {name}: {test.label} p={test.probability:.3f} -> {test.top_probability:.3f}; "
            f"drop {test.drop_top:+.3f} (Grad-CAM) vs {test.drop_random:+.3f} (random)"
        )
    assert len(rows) >= 3
    assert sum(test.drop_top > test.drop_random for _, test in rows) >= 3


def test_the_covered_square_is_the_hottest_and_grey(lite0, samples):
    test = fail.cover_test(lite0, samples["coffee"])
    _, view = lite0.prepare(samples["coffee"])
    heatmap = registry.get_plugin("gradcam").run(lite0, samples["coffee"]).heatmap
    side = test.side
    assert side == round(np.sqrt(fail.COVER_AREA) * 224) and abs(test.area - fail.COVER_AREA) < 0.01

    def inside(box):
        x, y = box
        return heatmap[y : y + side, x : x + side].sum()

    assert all(inside(test.top_box) >= inside(box) for box in test.random_boxes)
    covered = np.asarray(test.top_view)
    x, y = test.top_box
    assert (covered[y : y + side, x : x + side] == 128).all()
    outside = np.ones(covered.shape[:2], bool)
    outside[y : y + side, x : x + side] = False
    assert np.array_equal(covered[outside], np.asarray(view)[outside])
    assert len(test.random_probabilities) == fail.RANDOM_REGIONS and test.drop_top > 0


@pytest.mark.parametrize("change", list(fail.CHANGES))
def test_every_change_reports_top5_maps_and_a_sentence(lite0, samples, change):
    result = fail.make_it_fail(lite0, samples["coffee"], change, 0.8)
    assert len(result.before.top5) == len(result.after.top5) == 5
    assert result.before.gradcam.heatmap.shape == result.after.gradcam.heatmap.shape == (224, 224)
    assert result.amount in result.sentence and f"{result.before.top5[0][2]:.2f}" in result.sentence
    changed = np.asarray(result.figure)  # the changed picture differs from the original (greyscale: no colour)
    assert changed.shape[1] > 4 * 224
    if change == "greyscale":
        after = np.asarray(result.after.view)
        assert (after[..., 0] == after[..., 1]).all() and (after[..., 1] == after[..., 2]).all()
    else:
        assert not np.array_equal(np.asarray(result.after.view), np.asarray(result.before.view))
    if change == "cover":
        assert result.cover is not None and "random square of the same size" in result.sentence


def test_bad_requests_are_refused(lite0, samples):
    with pytest.raises(ValueError, match="no change called 'melt'"):
        fail.make_it_fail(lite0, samples["cat"], "melt")
    with pytest.raises(ValueError, match="between 0 and 1"):
        fail.make_it_fail(lite0, samples["cat"], "blur", 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        fail.cover_test(lite0, samples["cat"], area=1.5)
