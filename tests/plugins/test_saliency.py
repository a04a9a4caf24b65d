"""Saliency equals the plain autograd gradient of the class score, reduced over channels."""

import numpy as np
import pytest
import torch

import registry


@pytest.mark.parametrize("image,target,reduce", [("cat", None, "max"), ("coffee", 968, "mean"), ("rocket", 657, "max")])
def test_matches_autograd(image, target, reduce, lite0, samples):
    result = registry.get_plugin("saliency").run(lite0, samples[image], target=target, reduce=reduce)
    x, _ = lite0.prepare(samples[image])
    x.requires_grad_(True)
    chosen = result.target
    score = lite0.model(x)[0, chosen]
    (gradient,) = torch.autograd.grad(score, x)
    magnitude = gradient[0].abs()
    expected = magnitude.amax(0) if reduce == "max" else magnitude.mean(0)
    expected = expected.numpy()
    scaled = np.clip(expected / np.percentile(expected, 99), 0, 1)  # the plugin's declared display scale
    np.testing.assert_allclose(result.heatmap, scaled, atol=1e-4)
    assert np.corrcoef(result.heatmap.ravel(), np.minimum(expected, np.percentile(expected, 99)).ravel())[0, 1] > 0.999
    if target is not None:
        assert chosen == target


def test_different_classes_give_different_maps(lite0, samples):
    plugin = registry.get_plugin("saliency")
    espresso = plugin.run(lite0, samples["coffee"], target=967).heatmap
    tabby = plugin.run(lite0, samples["coffee"], target=281).heatmap
    assert np.corrcoef(espresso.ravel(), tabby.ravel())[0, 1] < 0.95
