"""The shared pass: its gradients are captum's, and one backward per class serves every map."""

import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam, Saliency

import registry
from registry.methods._shared_pass import SharedPass


def test_layer_gradients_give_captums_grad_cam(lite0, samples):
    x, _ = lite0.prepare(samples["cat"])
    for layer, target in [("bn2", 282), ("blocks.3", 285)]:
        _, module = lite0.module(layer)
        theirs = LayerGradCam(lite0.model, module).attribute(x, target=target, relu_attributions=True)
        with lite0.lock:
            shared = SharedPass(lite0, x, layers=[layer], gradients=True)
            weights = shared.gradients(target, layer).mean(dim=(2, 3), keepdim=True)
            ours = torch.relu((weights * shared.activations(layer)).sum(dim=1, keepdim=True))
        torch.testing.assert_close(ours, theirs.detach(), atol=1e-6, rtol=1e-5)


def test_input_gradient_is_captums_saliency(lite0, samples):
    x, _ = lite0.prepare(samples["coffee"])
    theirs = Saliency(lite0.model).attribute(x.clone(), target=967, abs=True)
    with lite0.lock:
        ours = SharedPass(lite0, x, input_gradient=True).input_gradient(967).abs()
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_one_forward_gives_the_probabilities_and_one_backward_per_class(lite0, samples):
    x, _ = lite0.prepare(samples["cat"])
    with lite0.lock:
        shared = SharedPass(lite0, x, layers=["blocks.2", "bn2"], gradients=True, input_gradient=True)
        np.testing.assert_allclose(shared.probabilities.numpy(), lite0.probabilities(x).numpy(), atol=1e-6)
        assert shared.top1[:2] == (282, "tiger cat")
        for target in (282, 285, 282):
            shared.gradients(target, "bn2"), shared.gradients(target, "blocks.2"), shared.input_gradient(target)
    assert shared.backward_passes == 2
    assert not torch.equal(shared.gradients(282, "bn2"), shared.gradients(285, "bn2"))


def test_a_pass_without_gradients_runs_without_autograd_and_says_what_is_missing(lite0, samples):
    x, _ = lite0.prepare(samples["cat"])
    with lite0.lock:
        shared = SharedPass(lite0, x, layers=["blocks.1"])
    assert not shared.logits.requires_grad and shared.activations("blocks.1").shape[1] == 24
    with pytest.raises(RuntimeError, match="without gradients"):
        shared.gradients(282, "blocks.1")
    with pytest.raises(RuntimeError, match="without the input gradient"):
        shared.input_gradient(282)
    with pytest.raises(RuntimeError, match="did not record layer 'bn2'"):
        shared.activations("bn2")


def test_a_plugin_reading_what_it_did_not_declare_is_refused_at_load():
    class Undeclared(registry.Plugin):
        name, title, description, output = "undeclared", "Undeclared", "Reads gradients without saying so.", "heatmap"
        reads = ("gradients",)

        def compute(self, ctx):
            return ctx.gradients[0, 0]

    with pytest.raises(registry.PluginSpecError, match="needs_layer"):
        Undeclared().validate()
    Undeclared.needs_layer = Undeclared.needs_target = True
    with pytest.raises(registry.PluginSpecError, match="reads gradients but does not set needs_gradients"):
        Undeclared().validate()
    Undeclared.needs_gradients = True
    Undeclared().validate()


def test_grad_cam_through_the_pass_matches_interpolated_captum(lite0, samples):
    result = registry.get_plugin("gradcam").run(lite0, samples["rocket"], target=657, layer="blocks.4")
    x, _ = lite0.prepare(samples["rocket"])
    _, module = lite0.module("blocks.4")
    captum_map = LayerAttribution.interpolate(
        LayerGradCam(lite0.model, module).attribute(x, target=657, relu_attributions=True), (224, 224), "bilinear"
    )[0, 0]
    reference = captum_map.detach().numpy()
    assert np.corrcoef(result.heatmap.ravel(), reference.ravel())[0, 1] > 0.9999
