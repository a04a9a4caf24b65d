"""Deep Feature Factorization equals pytorch-grad-cam's DeepFeatureFactorization: the same concepts, the same maps
and the same classes a concept scores, on timm's test_resnet (seeded random weights: only the structure matters
for equality) at the layer the classifier pools, 96 pixels wide."""

import numpy as np
import pytest
import torch
from pytorch_grad_cam import DeepFeatureFactorization
from pytorch_grad_cam.feature_factorization.deep_feature_factorization import dff

import registry
from plugins.deep_feature_factorization import factorize
from testkit.small_backbone import small_test_resnet

LAYER = "layer4"  # what the global pooling reads: 96 channels, the classifier's input


@pytest.fixture(scope="module")
def small():
    return small_test_resnet(96)


@pytest.fixture(scope="module")
def activations(small, samples):
    """The prepared image and the layer's output on it, recorded by a hook of the test's own."""
    x = small.prepare(samples["cat"])[0]
    recorded = []
    handle = small.module(LAYER)[1].register_forward_hook(lambda _m, _i, output: recorded.append(output.detach()))
    with torch.no_grad():
        small.model(x)
    handle.remove()
    return x, recorded[0]


def test_concepts_and_maps_equal_pytorch_grad_cams(activations):
    _, layer = activations
    ours_concepts, ours_maps = factorize(layer[0], 4, [])
    theirs_concepts, theirs_maps = dff(layer.numpy().copy(), n_components=4)
    np.testing.assert_allclose(ours_concepts.numpy(), theirs_concepts, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours_maps.numpy(), theirs_maps[0], rtol=1e-4, atol=1e-5)
    assert ours_maps.flatten(1).std(dim=1).min() > 0  # four real maps, not flat ones


def test_each_concept_is_named_by_the_classes_pytorch_grad_cam_gives_it(small, activations, samples):
    x, _ = activations
    result = registry.get_plugin("deep_feature_factorization").run(small, samples["cat"], concepts=3, classes=2)
    peer = DeepFeatureFactorization(small.model, small.module(LAYER)[1], computation_on_concepts=small.model.fc)
    try:
        _, _, outputs = peer(x, n_components=3)
    finally:
        peer.activations_and_grads.release()  # its hooks; it has no context manager
    probabilities = torch.softmax(torch.from_numpy(outputs), dim=-1)
    for index, row in enumerate(probabilities):
        top = row.topk(2)
        named = ", ".join(f"{small.labels[int(i)]} ({float(p):.2f})" for p, i in zip(top.values, top.indices))
        assert f"{index + 1}: {named}" in result.captions[0]
    assert result.layer.name == LAYER and result.heatmap is None and len(result.images) == 3


def test_a_layer_the_classifier_does_not_read_leaves_the_concepts_unnamed(small, samples):
    result = registry.get_plugin("deep_feature_factorization").run(small, samples["cat"], layer="layer2", concepts=2)
    assert "Concepts are not named: layer2 has 48 channels and the classifier reads 96" in " ".join(result.notes)
    assert "1: —; 2: —" in result.captions[0]
