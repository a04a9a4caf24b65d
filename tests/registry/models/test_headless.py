"""A model with no classifier head (timm's feature extractors: DINOv2, EVA-02 MIM, num_classes=0).

Its output is a feature vector, not class scores: nothing may read it as a prediction, the methods
that explain a class refuse in words, and everything else still works.
"""

import pytest
import timm
import torch

import registry
from registry.teaching import fail, lesson

NO_HEAD = "no classifier head"


@pytest.fixture(scope="module")
def headless() -> registry.Backbone:
    torch.manual_seed(0)
    model = timm.create_model("resnet18", num_classes=0)
    return registry.Backbone("resnet18", model, torch.device("cpu"), "seeded random", True)


def test_it_predicts_nothing_rather_than_a_softmax_over_features(headless, samples):
    x, _ = headless.prepare(samples["cat"])
    assert headless.model(x).shape == (1, 512)  # features, which a softmax would turn into 512 "classes"
    assert headless.num_classes == 0 and headless.probabilities(x).numel() == 0
    assert headless.predict(samples["cat"]) == []


def test_compare_fills_class_cells_with_the_reason_and_the_rest_with_maps(headless, samples):
    comparison = registry.compare(samples["cat"], backbones=[headless], plugins=["feature_maps", "gradcam", "eigencam"])
    assert comparison.cell("resnet18", "feature_maps").result.images
    assert comparison.cell("resnet18", "eigencam").result.heatmap.std() > 0  # gradient-free, explains no class
    assert NO_HEAD in comparison.cell("resnet18", "gradcam").error
    assert comparison.rows[0].prediction is None and comparison.figure is not None


@pytest.mark.parametrize(
    "step",
    [lesson.class_evidence, lesson.mistake, lambda backbone, image: fail.make_it_fail(backbone, image, "upside_down")],
)
def test_the_lessons_that_need_a_class_refuse_in_words(step, headless, samples):
    with pytest.raises(registry.Unsupported, match=NO_HEAD):
        step(headless, samples["cat"])
