"""The shared plugin machinery: normalisation rules and declaration checks."""

import time

import numpy as np
import pytest
import torch

import registry
from registry import Param, Plugin, PluginSpecError
from registry.methods import normalize


def test_unsigned_maps_keep_zero_and_reach_one():
    heat = normalize(torch.tensor([[-2.0, 0.0], [1.0, 4.0]]), (2, 2), signed=False)
    np.testing.assert_allclose(heat, [[0.0, 0.0], [0.25, 1.0]])


def test_signed_maps_put_zero_at_half():
    heat = normalize(torch.tensor([[-2.0, 0.0], [1.0, 2.0]]), (2, 2), signed=True)
    np.testing.assert_allclose(heat, [[0.0, 0.5], [0.75, 1.0]])


def test_percentile_scaling_saturates_outliers():
    values = torch.arange(1000, dtype=torch.float32).reshape(25, 40)
    values[0, 0] = 1e6  # one extreme gradient
    heat = normalize(values, (25, 40), signed=False, percentile=99.0)
    assert heat[0, 0] == 1.0 and heat.flatten()[500] > 0.45  # the rest is still visible
    assert normalize(values, (25, 40), signed=False).flatten()[500] < 0.001  # plain max scaling: black


def test_low_resolution_maps_are_upsampled_and_flat_maps_stay_flat():
    assert normalize(np.ones((7, 7)), (224, 224), signed=False).shape == (224, 224)
    assert normalize(np.zeros((4, 4)), (4, 4), signed=False).max() == 0.0
    assert (normalize(np.zeros((4, 4)), (4, 4), signed=True) == 0.5).all()
    with pytest.raises(RuntimeError, match="2-D"):
        normalize(np.zeros((2, 3, 4)), (4, 4), signed=False)


def test_declaration_checks():
    class NoCompute(Plugin):
        name, title, description = "no_compute", "No compute", "Declares everything but computes nothing."

    class Reserved(NoCompute):
        name = "reserved"
        params = (Param("target", "int", 1, minimum=0, maximum=9),)

        def compute(self, ctx):
            return ctx.x[0, 0]

    with pytest.raises(PluginSpecError, match="does not implement compute"):
        NoCompute().validate()
    with pytest.raises(PluginSpecError, match="must be unique and not"):
        Reserved().validate()


class Looping(registry.Plugin):
    """A heavy plugin that loops over many small steps, as Score-CAM or Occlusion do."""

    name, title, output, cost = "looping", "Looping", "heatmap", "heavy"
    description = "Runs the model again and again; used to test the cooperative time budget."

    def compute(self, ctx):
        total = 10_000
        for done in range(total):
            with torch.no_grad():
                ctx.model(ctx.x)
            ctx.step(done + 1, total)
        return ctx.x[0, 0]


def test_a_plugin_past_its_time_budget_is_stopped_and_the_model_serves_the_next_request(lite0, samples, monkeypatch):
    monkeypatch.setenv("CNNLENS_TIME_BUDGET", "0.5")
    heard = []
    started = time.monotonic()
    with pytest.raises(
        registry.PluginTimeout, match="Looping stopped after .* of 10000 steps: it ran past its time budget of 0.5 s"
    ):
        Looping().run(lite0, samples["cat"], progress=lambda fraction, words: heard.append(words))
    assert time.monotonic() - started < 30 and heard and heard[0] == "Looping: 1/10000"
    assert lite0.lock.acquire(timeout=1)  # released for the next request
    lite0.lock.release()
    assert registry.get_plugin("gradcam").run(lite0, samples["cat"]).label == "tiger cat"


def test_cost_must_be_declared_from_the_known_classes():
    class Odd(Looping):
        name, cost = "odd", "enormous"

    with pytest.raises(registry.PluginSpecError, match="cost must be one of light, moderate, heavy"):
        Odd().validate()


def test_a_map_of_a_class_the_model_does_not_predict_says_so(lite0, samples):
    gradcam = registry.get_plugin("gradcam")
    predicted = gradcam.run(lite0, samples["cat"])
    assert predicted.prediction[0] == predicted.target and not any(
        "not the model's prediction" in n for n in predicted.notes
    )
    other = gradcam.run(lite0, samples["cat"], target=207)
    top, label, probability = other.prediction
    assert other.target == 207 and top == predicted.target
    assert f"not the model's prediction: it predicts {top}: {label} (p = {probability:.3f})" in " ".join(other.notes)
    assert registry.get_plugin("feature_maps").run(lite0, samples["cat"]).prediction is None  # explains no class


def _forward_counter(model: torch.nn.Module) -> tuple[list, object]:
    calls: list = []
    return calls, model.register_forward_hook(lambda *_: calls.append(1))


def test_a_method_that_cannot_apply_is_refused_in_words_before_anything_runs(samples):
    """Guided Backprop is its rule at ReLU-like activations; a ViT has only GELUs, so it is refused."""
    from testkit.transformers import transformer

    vit = transformer("vit")
    plugin = registry.get_plugin("guided_backprop")
    calls, handle = _forward_counter(vit.model)
    try:
        with pytest.raises(
            registry.Unsupported,
            match="Guided Backprop does not apply to vit_tiny_patch16_224: it has no ReLU-like activations",
        ) as refused:
            plugin.run(vit, samples["cat"])
    finally:
        handle.remove()
    assert calls == [] and isinstance(refused.value, ValueError)  # the app shows ValueErrors as the user's message
    assert plugin.refusal(vit) == str(refused.value)


def test_a_plugin_written_for_api_1_3_still_refuses_through_its_supports(samples):
    """`supports` (a reason) was the override point before 1.4: its reason still becomes the one refusal."""
    from registry.testing import default_backbone

    class Legacy(Plugin):
        name, title, api_version = "legacy", "Legacy", "1.3"

        def supports(self, backbone):
            return "it is not the one this method was written for." if backbone.name == "test_resnet" else None

        def compute(self, ctx):
            return torch.zeros(4, 4)

    backbone = default_backbone()
    assert (
        Legacy().refusal(backbone)
        == "Legacy does not apply to test_resnet: it is not the one this method was written for."
    )
    with pytest.raises(registry.Unsupported, match="Legacy does not apply to test_resnet"):
        registry.check_applies(Legacy(), backbone)


# captum's DeepLift has no rescale rule for lite0's ReLU6, and LRP needs a plain chain: refused in words (#43); LeGrad
# reads a transformer's attention, which a CNN lacks.
RULE_BOUND = {"deeplift": "ReLU6", "deeplift_shap": "ReLU6", "lrp": "no rule for its", "legrad": "it is convolutional"}


def test_nothing_is_refused_on_the_default_backbone_but_the_rules_captum_lacks_and_transformer_methods(lite0):
    refusals = {plugin.name: plugin.refusal(lite0) for plugin in registry.list_plugins()}
    assert {name: said for name, said in refusals.items() if said}.keys() == RULE_BOUND.keys()
    for name, words in RULE_BOUND.items():
        assert words in refusals[name], refusals[name]


def test_layer_methods_are_refused_on_a_model_without_spatial_maps(samples):
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 224 * 224, 10))
    flat.num_classes = 10
    backbone = registry.Backbone("flat", flat, torch.device("cpu"), "seeded random", True)
    with pytest.raises(
        registry.Unsupported, match="Grad-CAM does not apply to flat: flat has no layer with spatial extent"
    ):
        registry.get_plugin("gradcam").run(backbone, samples["cat"])
    assert registry.get_plugin("saliency").run(backbone, samples["cat"]).heatmap.std() > 0.01


def test_class_methods_are_refused_on_a_model_without_a_classifier_head(samples):
    import timm

    torch.manual_seed(0)
    headless = registry.Backbone(
        "vit_tiny_patch16_224",
        timm.create_model("vit_tiny_patch16_224", num_classes=0),
        torch.device("cpu"),
        "seeded random",
        True,
    )
    for name in ("gradcam", "saliency", "scorecam"):
        assert "it has no classifier head (num_classes = 0" in registry.get_plugin(name).refusal(headless)
    result = registry.get_plugin("feature_maps").run(headless, samples["cat"])  # explains no class: still works
    assert result.images and result.layer.name == headless.suggested_layer("middle")


@pytest.mark.parametrize("name", ["gradcam", "saliency", "input_x_gradient"])
def test_the_raw_map_is_what_the_heatmap_shows_before_scaling(lite0, samples, name):
    """Scripts get the numbers behind the picture: `raw` at the view's size, which `scale` maps to the colour
    scale's top."""
    plugin = registry.get_plugin(name)
    result = plugin.run(lite0, samples["cat"])
    assert result.raw.dtype == np.float32 and result.raw.shape == result.heatmap.shape == (224, 224)
    if plugin.signed:
        np.testing.assert_allclose(np.clip(result.raw / result.scale * 0.5 + 0.5, 0, 1), result.heatmap, atol=1e-6)
    else:
        assert result.raw.min() >= 0
        np.testing.assert_allclose(np.clip(result.raw / result.scale, 0, 1), result.heatmap, atol=1e-6)
    if plugin.scale_percentile == 100:
        assert np.abs(result.raw).max() == pytest.approx(result.scale)
    else:  # saliency: the brightest 1 % are clipped in the picture, kept in the numbers
        assert np.abs(result.raw).max() > result.scale
    assert registry.get_plugin("feature_maps").run(lite0, samples["cat"]).raw is None


def test_a_map_that_is_zero_everywhere_says_so_in_a_sentence(samples):
    """A layer that never fires (every ReLU below zero) gives Grad-CAM nothing to weigh, though its gradient is not
    zero: the result says why the map is empty instead of showing a colour bar from 0 to 0."""
    torch.manual_seed(0)
    dark = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 2),
    )
    dark[0].bias.data.fill_(-100.0)
    backbone = registry.wrap_model(dark, "dark", input_size=(32, 32), device="cpu", untrained=True)
    result = registry.get_plugin("gradcam").run(backbone, samples["cat"], layer="1")
    assert not result.raw.any() and result.scale == 0
    assert any(
        note.startswith("The Grad-CAM map is zero everywhere") and "random weights often give that" in note
        for note in result.notes
    )
    from registry.testing import default_backbone

    lively = registry.get_plugin("gradcam").run(default_backbone(), samples["cat"])
    assert result.raw is not None and not any("zero everywhere" in note for note in lively.notes)
