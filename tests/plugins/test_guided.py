"""Guided Backprop done right: the guided rule acts on ReLU6 (the default backbone), not only nn.ReLU."""

import numpy as np
import pytest
import timm
import torch
from captum.attr import GuidedBackprop as CaptumGuidedBackprop
from captum.attr import GuidedGradCam as CaptumGuidedGradCam
from torch import nn

import registry
from registry.methods import RELU_LIKE, guided_gradient, normalize


def gradients_through_activations(backbone, plugin, image) -> list[float]:
    """Run `plugin`; return the smallest gradient that passed back through each ReLU-like activation."""
    smallest: list[float] = []

    def watch(_module, inputs, _output):
        if inputs[0].requires_grad:  # the activation's input: its gradient is what the activation let through
            inputs[0].register_hook(lambda grad: smallest.append(float(grad.min())))

    handles = [m.register_forward_hook(watch) for m in backbone.model.modules() if isinstance(m, RELU_LIKE)]
    try:
        plugin.run(backbone, image)
    finally:
        for handle in handles:
            handle.remove()
    return smallest


def test_no_negative_gradient_passes_an_activation_on_the_default_backbone(lite0, samples):
    activations = sum(isinstance(m, nn.ReLU6) for m in lite0.model.modules())
    guided = gradients_through_activations(lite0, registry.get_plugin("guided_backprop"), samples["cat"])
    plain = gradients_through_activations(lite0, registry.get_plugin("saliency"), samples["cat"])
    assert activations > 0 and len(guided) == len(plain) == activations  # every ReLU6 the model runs was seen
    assert min(guided) >= 0.0
    assert min(plain) < 0.0  # the plain gradient does carry negative values through them


def test_guided_map_differs_from_the_plain_gradient_and_leaves_no_hooks(lite0, samples):
    guided = registry.get_plugin("guided_backprop").run(lite0, samples["cat"]).heatmap
    plain = registry.get_plugin("saliency").run(lite0, samples["cat"]).heatmap
    assert np.abs(guided - plain).mean() > 0.05
    assert np.corrcoef(guided.ravel(), plain.ravel())[0, 1] < 0.9
    assert not any(m._forward_hooks for m in lite0.model.modules())


@pytest.fixture(scope="module")
def resnet() -> registry.Backbone:
    torch.manual_seed(0)
    return registry.Backbone("resnet18", timm.create_model("resnet18"), torch.device("cpu"), "seeded random", True)


def test_on_nn_relu_models_it_equals_captums_guided_backprop(resnet, samples):
    """Where captum's rewrite does apply (nn.ReLU modules), both must give the same map."""
    x, _ = resnet.prepare(samples["cat"])
    target = resnet.predict(samples["cat"], k=1)[0][0]
    theirs = CaptumGuidedBackprop(resnet.model).attribute(x.clone(), target=target)[0].abs().amax(0)
    ours = registry.get_plugin("guided_backprop").run(resnet, samples["cat"], target=target).heatmap
    np.testing.assert_allclose(ours, normalize(theirs, ours.shape, False, 99.0), atol=1e-4)


def test_guided_gradcam_matches_captum_on_nn_relu_models(resnet, samples):
    x, _ = resnet.prepare(samples["cat"])
    target = resnet.predict(samples["cat"], k=1)[0][0]
    _, layer = resnet.module(None)
    theirs = CaptumGuidedGradCam(resnet.model, layer).attribute(x.clone(), target=target, interpolate_mode="bilinear")
    ours = registry.get_plugin("guided_gradcam").run(resnet, samples["cat"], target=target).heatmap
    expected = normalize(theirs[0].abs().amax(0), ours.shape, False, 99.0)
    assert np.corrcoef(ours.ravel(), expected.ravel())[0, 1] > 0.99


def test_on_smooth_activations_guided_backprop_is_refused_and_guided_gradcam_says_so(samples):
    """With no ReLU-like activation the guided rule changes nothing: Guided Backprop would be Saliency
    under another name, so it is refused in words; Guided Grad-CAM still weights the gradient by its CAM."""
    torch.manual_seed(0)
    convnext = registry.Backbone(
        "convnext_atto", timm.create_model("convnext_atto"), torch.device("cpu"), "seeded random", True
    )
    with pytest.raises(registry.Unsupported, match="no ReLU-like activations .* see the Saliency tab"):
        registry.get_plugin("guided_backprop").run(convnext, samples["cat"])
    guided = registry.get_plugin("guided_gradcam").run(convnext, samples["cat"])
    assert any("no ReLU-like activations" in note for note in guided.notes) and guided.heatmap.std() > 0.01


@pytest.mark.parametrize("name", ["guided_backprop", "deconvolution"])
def test_a_rule_map_is_one_forward_pass_the_shared_one_run_under_its_rule(lite0, samples, name):
    """Alone, the shared pass runs under the map's rule: the prediction and the map come from one forward (it was
    two), and the map equals the rule's gradient taken in a pass of its own. Beside saliency (Compare) the pass is
    plain and the rule map takes its own pass: both maps still equal their solo runs."""
    plugin = registry.get_plugin(name)
    passes = []
    handle = lite0.model.register_forward_hook(lambda _module, _inputs, _output: passes.append(1))
    try:
        alone = plugin.run(lite0, samples["cat"])
    finally:
        handle.remove()
    assert len(passes) == 1
    x, _ = lite0.prepare(samples["cat"])
    own = guided_gradient(lite0.model, x, alone.target, deconvolution=name == "deconvolution")[0].abs().amax(0)
    np.testing.assert_allclose(alone.heatmap, normalize(own, alone.heatmap.shape, False, 99.0), atol=1e-5)
    beside = registry.compare(samples["cat"], [lite0], [name, "saliency"], common_scale=False)
    saliency = registry.get_plugin("saliency").run(lite0, samples["cat"]).heatmap
    np.testing.assert_allclose(beside.cell(lite0.name, name).result.heatmap, alone.heatmap, atol=1e-6)
    np.testing.assert_allclose(beside.cell(lite0.name, "saliency").result.heatmap, saliency, atol=1e-6)
