"""The relevance family (DeepLift, DeepLiftShap, LRP, Deconvolution, Layer Conductance) against captum called
directly, and refused in a sentence on the networks captum's rules get wrong (captum #546, #712, #792).

Structure-level checks on tiny random-weight models: equality with the oracle holds whatever the weights. The
plugins run on registry.testing's VGG-like chain (with an nn.Flatten, which our pass-through rule handles) and,
for DeepLift, on test_resnet's skip connections too (they are additions, which DeepLift's rules pass exactly).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from captum.attr import LRP, Deconvolution, DeepLift, DeepLiftShap, LayerConductance
from torch import nn

import registry
from registry.methods import INPUT_BASELINES, baseline, upsample
from registry.testing import chain_backbone, default_backbone

TARGET = 281  # tabby cat: any class will do on random weights


class _FlattenedLinear(nn.Module):
    """The chain's head with a functional flatten, which captum's LRP passes without a rule of its own."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


@pytest.fixture(scope="module")
def chain():
    return chain_backbone()


@pytest.fixture(scope="module")
def cat(samples):
    return samples["cat"]


def _raw(name: str, backbone: registry.Backbone, image, **params) -> np.ndarray:
    return registry.get_plugin(name).run(backbone, image, target=TARGET, **params).raw


def _agree(ours: np.ndarray, oracle: torch.Tensor) -> None:
    oracle = oracle.detach().float().numpy()
    assert ours.shape == oracle.shape
    r = np.corrcoef(ours.ravel(), oracle.ravel())[0, 1]
    assert r >= 0.999, f"Pearson r {r:.5f}"
    np.testing.assert_allclose(ours, oracle, rtol=1e-3, atol=1e-4 * float(np.abs(oracle).max()))


@pytest.mark.parametrize("on", ["chain", "test_resnet"])
def test_deeplift_equals_captums(on, chain, cat):
    backbone = chain if on == "chain" else default_backbone()
    x = backbone.prepare(cat)[0]
    oracle, delta = DeepLift(backbone.model).attribute(
        x, baselines=baseline(backbone, x, "blurred"), target=TARGET, return_convergence_delta=True
    )
    result = registry.get_plugin("deeplift").run(backbone, cat, target=TARGET)
    _agree(result.raw, oracle[0].sum(dim=0))
    _completeness_told(result, oracle, delta)


def test_deeplift_shap_equals_captums_over_the_three_references(chain, cat):
    x = chain.prepare(cat)[0]
    references = torch.cat([baseline(chain, x, kind) for kind in INPUT_BASELINES])
    oracle, delta = DeepLiftShap(chain.model).attribute(
        x, baselines=references, target=TARGET, return_convergence_delta=True
    )
    result = registry.get_plugin("deeplift_shap").run(chain, cat, target=TARGET)
    _agree(result.raw, oracle[0].sum(dim=0))
    _completeness_told(result, oracle, delta)


def _completeness_told(result: registry.Visualization, oracle: torch.Tensor, delta: torch.Tensor) -> None:
    """The note's score difference (read from DeepLift's own pass and the shared one) is the one captum's
    convergence delta implies (which runs two passes more for it)."""
    said = next(note for note in result.notes if note.startswith("The map sums to"))
    stated = float(said.split(" is ")[1].split(":")[0])
    assert stated == pytest.approx(float(oracle.sum()) - float(delta.mean()), rel=1e-3, abs=1e-4)


def test_lrp_equals_captums_and_passes_relevance_through_nn_flatten(chain, cat):
    """Ours runs on the chain as it is (nn.Flatten, which captum alone refuses); captum on the same weights with
    the flatten done functionally, which it handles: the maps must be equal."""
    x = chain.prepare(cat)[0]
    layers = list(copy.deepcopy(chain.model))
    functional = nn.Sequential(*layers[:-2], _FlattenedLinear(layers[-1])).eval()
    oracle = LRP(functional).attribute(x, target=TARGET)
    _agree(_raw("lrp", chain, cat), oracle[0].sum(dim=0))
    assert not any(hasattr(module, "rule") for module in chain.model.modules()), "a rule was left on the model"


class _TorchFlattenedLinear(_FlattenedLinear):
    """The head as torchvision's VGG writes it: `torch.flatten(x, 1)`, the function rather than the method."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(x, 1))


def test_lrp_accepts_torch_flatten_as_torchvisions_vgg_has_it(chain, cat):
    """torchvision's VGG (captum's own LRP tutorial network) flattens with torch.flatten, a shape change captum's LRP
    passes: not refused, and equal to captum's map on the same model."""
    layers = list(copy.deepcopy(chain.model))
    model = nn.Sequential(*layers[:-2], _TorchFlattenedLinear(layers[-1]))
    backbone = registry.wrap_model(model, "torch_flatten", input_size=(64, 64), device="cpu", untrained=True)
    assert registry.get_plugin("lrp").refusal(backbone) is None
    x = backbone.prepare(cat)[0]
    ours = _raw("lrp", backbone, cat)
    _agree(ours, LRP(model).attribute(x, target=TARGET)[0].sum(dim=0))


def test_deconvolution_equals_captums(chain, cat):
    x = chain.prepare(cat)[0]
    oracle = Deconvolution(chain.model).attribute(x, target=TARGET)
    _agree(_raw("deconvolution", chain, cat), oracle[0].abs().amax(dim=0))


def test_layer_conductance_equals_captums_at_the_layer(chain, cat):
    x = chain.prepare(cat)[0]
    plugin = registry.get_plugin("layer_conductance")
    _name, module = plugin.resolve_layer(chain, None)
    oracle = LayerConductance(chain.model, module).attribute(
        x, baselines=baseline(chain, x, "blurred"), target=TARGET, n_steps=16, internal_batch_size=8
    )
    _agree(_raw("layer_conductance", chain, cat), upsample(oracle[0].sum(dim=0), tuple(x.shape[-2:])))


def _refusal(name: str, backbone: registry.Backbone, cat) -> str:
    """The refusal is said before any pass, as a sentence, and `run` raises exactly it (never a traceback)."""
    plugin = registry.get_plugin(name)
    said = plugin.refusal(backbone)
    assert said and said.startswith(f"{plugin.title} does not apply to {backbone.name}: ") and said.endswith(".")
    with pytest.raises(registry.Unsupported) as raised:
        plugin.run(backbone, cat)
    assert str(raised.value) == said
    return said


@pytest.fixture(scope="module")
def silu():
    return registry.load_backbone("test_efficientnet", device="cpu", weights="random")


@pytest.mark.parametrize("name", ["deeplift", "deeplift_shap", "lrp"])
def test_silu_is_refused_in_words(name, silu, cat):
    said = _refusal(name, silu, cat)
    assert "SiLU" in said and "Integrated Gradients" in said
    assert "use DeepLift" not in said  # DeepLift is refused on SiLU too: LRP's refusal must not offer it


def test_lrp_offers_deeplift_where_deeplift_applies(cat):
    assert "use DeepLift or Integrated Gradients" in _refusal("lrp", default_backbone(), cat)


def test_lrp_refuses_skip_connections_and_upsampling(cat):
    assert "skip connection" in _refusal("lrp", default_backbone(), cat)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        upsampled = nn.Sequential(
            nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Upsample(scale_factor=2), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
    backbone = registry.wrap_model(upsampled, "upsampled", input_size=(32, 32), device="cpu", untrained=True)
    assert "Upsample" in _refusal("lrp", backbone, cat)


class _OneReluTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.relu = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3), nn.ReLU()
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv2(self.relu(self.conv1(x))))
        return self.head(x.mean(dim=(2, 3)))


def test_deeplift_refuses_an_activation_module_used_twice(cat):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        backbone = registry.wrap_model(_OneReluTwice(), "reuse", input_size=(32, 32), device="cpu", untrained=True)
    assert "relu is called more than once" in _refusal("deeplift", backbone, cat)
