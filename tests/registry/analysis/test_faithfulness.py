"""Deletion and insertion on the real default backbone: a map that explains the class beats random maps."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import registry
from registry.analysis._faithfulness import random_map, ranking, substrate

GRADCAM = registry.get_plugin("gradcam")


@pytest.mark.parametrize("sample", ["cat", "coffee", "camera-gray"])
def test_gradcam_beats_random_maps_on_both_curves(lite0, samples, sample):
    result = GRADCAM.run(lite0, samples[sample])
    score = registry.faithfulness(lite0, samples[sample], result, steps=8, seeds=2, inverse=False)
    assert score.target == result.target
    assert score.deletion_auc < score.random_deletion_auc, score.as_dict()
    assert score.insertion_auc > score.random_insertion_auc, score.as_dict()


def test_curves_start_and_end_where_they_must(lite0, samples):
    result = GRADCAM.run(lite0, samples["coffee"], target=968)  # not the top class: the score follows result.target
    score = registry.faithfulness(lite0, samples["coffee"], result, steps=4, seeds=2, baseline="grey")
    curves = score.curves
    assert (
        score.target == 968 and score.label == "cup" and score.baseline == "grey" and score.deletion_baseline == "zero"
    )
    assert score.fractions.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert set(curves) == {
        "deletion",
        "insertion",
        "inverse_deletion",
        "inverse_insertion",
        "random_deletion",
        "random_insertion",
    }
    assert curves["random_deletion"].shape == (2, 5) and curves["deletion"].shape == (5,)
    # Nothing deleted yet / everything revealed: the unmodified image, whose p(cup) plugin.run reported.
    for name in ("deletion", "inverse_deletion"):
        assert curves[name][0] == pytest.approx(result.probability, abs=1e-4)
    for name in ("insertion", "inverse_insertion"):
        assert curves[name][-1] == pytest.approx(result.probability, abs=1e-4)
    assert curves["deletion"][-1] == curves["random_deletion"][1][-1]  # everything deleted: the same all-baseline image
    assert score.forward_passes == 3 + 4 * 2 * 3  # ends once, then 3 inner steps per curve (map, inverse, 2 random)
    assert 0 <= score.deletion_auc <= 1 and score.random_deletion_spread >= 0
    data = score.as_dict()
    json.dumps(data)
    assert data["deletion_auc"] == round(score.deletion_auc, 4) and len(data["curves"]["random_insertion"]) == 2


def test_batches_are_bounded_and_do_not_change_the_scores(lite0, samples):
    result = GRADCAM.run(lite0, samples["cat"])
    sizes: list[int] = []
    handle = lite0.model.register_forward_hook(lambda _m, inputs, _o: sizes.append(inputs[0].shape[0]))
    reports: list[float] = []
    try:
        small = registry.faithfulness(
            lite0,
            samples["cat"],
            result,
            steps=3,
            seeds=1,
            inverse=False,
            batch_size=2,
            progress=lambda fraction, _what: reports.append(fraction),
        )
    finally:
        handle.remove()
    large = registry.faithfulness(lite0, samples["cat"], result, steps=3, seeds=1, inverse=False, batch_size=64)
    assert max(sizes) == 2 and sum(sizes) == small.forward_passes == 3 + 2 * 2 * 2
    assert reports[-1] == 1.0 and reports == sorted(reports)
    for name in small.curves:
        np.testing.assert_allclose(small.curves[name], large.curves[name], atol=1e-5)


def test_figure_is_a_plot_of_both_curves(lite0, samples):
    result = GRADCAM.run(lite0, samples["coffee"])
    figure = registry.faithfulness(lite0, samples["coffee"], result, steps=2, seeds=1).figure
    assert isinstance(figure, Image.Image) and figure.size == (840, 340)
    pixels = np.asarray(figure)
    assert (pixels.std(axis=2) > 40).any()  # coloured curves, not a blank canvas


def test_baselines_in_the_model_input_space(lite0, samples):
    x, _ = lite0.prepare(samples["cat"])
    mean = torch.tensor(lite0.data_config["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(lite0.data_config["std"]).view(1, 3, 1, 1)
    assert torch.allclose(substrate(lite0, x, "grey"), ((0.5 - mean) / std).expand_as(x))
    assert torch.count_nonzero(substrate(lite0, x, "zero")) == 0
    blurred = substrate(lite0, x, "blur")
    assert blurred.shape == x.shape and abs(float(blurred.mean() - x.mean())) < 0.01
    assert float((blurred[..., 1:] - blurred[..., :-1]).abs().mean()) < 0.5 * float(
        (x[..., 1:] - x[..., :-1]).abs().mean()
    )
    flat = substrate(lite0, torch.full_like(x, 0.3), "blur")
    assert torch.allclose(flat, torch.full_like(x, 0.3), atol=1e-6)  # reflected borders: no dark frame


def test_ranking_puts_the_strongest_pixels_first_and_breaks_ties_at_random():
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[2, 3], heatmap[5, 5] = 1.0, 0.5
    order = ranking(heatmap)
    assert order[:2].tolist() == [2 * 8 + 3, 5 * 8 + 5] and sorted(order.tolist()) == list(range(64))
    assert order[2:].tolist() != sorted(order[2:].tolist())  # the zeros are not taken in raster order
    noise = random_map((7, 7), (224, 224), seed=0)
    assert noise.shape == (224, 224) and not np.array_equal(noise, random_map((7, 7), (224, 224), seed=1))
    assert np.abs(np.diff(noise, axis=1)).max() < 0.1  # smooth: regions, not scattered pixels


def test_wrong_inputs_are_explained(lite0, samples):
    result = GRADCAM.run(lite0, samples["cat"])
    with pytest.raises(ValueError, match="baseline must be one of blur, grey, zero"):
        registry.faithfulness(lite0, samples["cat"], result, baseline="black")
    with pytest.raises(ValueError, match="steps must be a whole number"):
        registry.faithfulness(lite0, samples["cat"], result, steps=1)
    with pytest.raises(ValueError, match="batch_size must be"):
        registry.faithfulness(lite0, samples["cat"], result, batch_size=0)
    maps = registry.get_plugin("feature_maps").run(lite0, samples["cat"])
    with pytest.raises(ValueError, match="shows images, not a heatmap"):
        registry.faithfulness(lite0, samples["cat"], maps)
    result.backbone = "resnet18"
    with pytest.raises(ValueError, match="computed on resnet18"):
        registry.faithfulness(lite0, samples["cat"], result)


def test_scores_for_compare_cells_match_the_single_call(lite0, samples):
    comparison = registry.compare(samples["coffee"], plugins=["feature_maps", "gradcam"])
    scores = registry.faithfulness_for_cells(comparison, samples["coffee"], steps=3, seeds=1, inverse=False)
    cell = comparison.cell(lite0.name, "gradcam")
    assert list(scores) == [cell.key]  # feature maps have no heatmap to score
    alone = registry.faithfulness(lite0, samples["coffee"], cell.result, steps=3, seeds=1, inverse=False)
    assert scores[cell.key].as_dict()["deletion_auc"] == alone.as_dict()["deletion_auc"]


def _stopped_after(fraction):
    """A request its visitor leaves once `fraction` of the scoring's images are through the model."""
    reached = [0.0]
    scope = registry.request_scope(abandoned=lambda: reached[0] >= fraction)
    return scope, lambda done, _words: reached.__setitem__(0, done)


def test_scoring_stopped_midway_keeps_its_finished_curves_and_says_what_was_cut(tiny, samples):
    result = registry.get_plugin("gradcam").run(tiny, samples["cat"])
    whole = registry.faithfulness(tiny, samples["cat"], result, steps=4, seeds=3)
    # 33 images: the 3 ends, then map, inverse and 3 random maps, each deletion and insertion of 3 images
    scope, progress = _stopped_after(24 / 33)  # past the first random map, inside the second
    with scope:
        part = registry.faithfulness(tiny, samples["cat"], result, steps=4, seeds=3, progress=progress)
    assert part.stopped.endswith("Scored with what was finished: 1 of 3 random maps.")
    assert "its request was cancelled" in part.stopped and part.seeds == 1
    for curve in ("deletion", "insertion", "inverse_deletion", "inverse_insertion"):
        assert np.array_equal(part.curves[curve], whole.curves[curve])
    assert np.array_equal(part.curves["random_deletion"][0], whole.curves["random_deletion"][0])
    assert part.as_dict()["stopped"] == part.stopped and whole.stopped is None
    scope, progress = _stopped_after(12 / 33)  # the map's curves only: no random map to compare with
    with scope, pytest.raises(registry.RequestStopped, match="The faithfulness scoring stopped after"):
        registry.faithfulness(tiny, samples["cat"], result, steps=4, seeds=3, progress=progress)
