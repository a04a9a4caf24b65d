"""Grad-CAM: agrees with the independent pytorch-grad-cam package and finds the right object."""

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import registry


def oracle(backbone, image, layer, target):
    x, _ = backbone.prepare(image)
    _, module = backbone.module(layer)
    with GradCAM(model=backbone.model, target_layers=[module]) as cam:
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]


@pytest.mark.parametrize(
    "image,layer,target",
    [
        ("cat", None, 282),
        ("cat", None, 285),
        ("coffee", None, 967),
        ("coffee", "blocks.5", 968),
        ("rocket", "blocks.4", 657),
        ("camera-gray", "blocks.6", 872),
    ],
)
def test_matches_pytorch_grad_cam(image, layer, target, lite0, samples):
    ours = registry.get_plugin("gradcam").run(lite0, samples[image], target=target, layer=layer).heatmap
    theirs = oracle(lite0, samples[image], layer, target)
    assert theirs.shape == ours.shape
    correlation = np.corrcoef(ours.ravel(), theirs.ravel())[0, 1]
    assert correlation > 0.95, f"correlation {correlation:.3f}"


def test_matches_on_other_architectures(samples):
    """A residual network (seeded random weights: only the structure matters) and lite2 at 260 px."""
    torch.manual_seed(0)
    resnet = registry.Backbone("resnet18", timm.create_model("resnet18"), torch.device("cpu"), "seeded random", True)
    lite2 = registry.load_backbone("tf_efficientnet_lite2", device="cpu")
    for backbone, layer in [(resnet, None), (resnet, "layer3"), (lite2, None), (lite2, "blocks.4")]:
        target = backbone.predict(samples["cat"], k=1)[0][0]
        theirs = oracle(backbone, samples["cat"], layer, target)
        ours = registry.get_plugin("gradcam").run(backbone, samples["cat"], target=target, layer=layer).heatmap
        assert theirs.std() > 0.01 and ours.shape == theirs.shape == backbone.prepare(samples["cat"])[1].size[::-1]
        assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.95, (backbone.name, layer)


def quadrants(samples) -> Image.Image:
    """Cat top-left, coffee top-right, rocket and camera below: each class has its own place."""
    canvas = Image.new("RGB", (512, 512))
    for (x, y), stem in zip([(0, 0), (256, 0), (0, 256), (256, 256)], ["cat", "coffee", "rocket", "camera-gray"]):
        canvas.paste(registry.load_image(samples[stem]).resize((256, 256)), (x, y))
    return canvas


@pytest.mark.parametrize("target,quadrant", [(282, (0, 0)), (967, (0, 1)), (872, (1, 1))])
def test_heat_lies_on_the_object_of_the_class(target, quadrant, lite0, samples):
    heat = registry.get_plugin("gradcam").run(lite0, quadrants(samples), target=target).heatmap
    half = heat.shape[0] // 2
    row, column = quadrant
    inside = heat[row * half : (row + 1) * half, column * half : (column + 1) * half].sum()
    assert inside / heat.sum() > 0.6, f"only {inside / heat.sum():.0%} of the heat on the right quadrant"
