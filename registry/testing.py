"""The plugin contract suite, importable: the checks every built-in plugin passes, for any plugin.

A plugin author runs exactly what CNN Lens runs on its own plugins:

    import pytest
    from registry.testing import CONTRACT, check
    from my_package.my_plugin import MyPlugin

    @pytest.mark.parametrize("name", CONTRACT)
    def test_contract(name):
        check(MyPlugin(), name)

Each check takes the plugin and raises AssertionError (or the plugin's own error) when the
contract is broken. The contract is about structure (types, shapes, ranges, choices, refusals,
markings), so it runs on timm's tiny `test_resnet` with random weights: milliseconds a pass, offline,
and with ReLUs, so nearly every built-in method applies; each plugin runs with its `quick_params` (fewer steps,
smaller pictures: the same code in seconds). A method that refuses it (LRP needs a plain chain, and test_resnet has
skip connections) runs on `chain_backbone()`, a tiny VGG-like chain, instead, and one that refuses both networks for
being convolutional (LeGrad reads a transformer's attention) on `transformer_backbone()`, timm's tiny `test_vit`.
Whether a map is *right* is judged elsewhere, on real weights (tests/plugins).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from registry.imaging import sample_paths
from registry.methods import Plugin, Visualization
from registry.models import RANDOM, Backbone, load_backbone, wrap_model

__all__ = [
    "CONTRACT",
    "IMAGES",
    "STRUCTURE_BACKBONE",
    "chain_backbone",
    "check",
    "check_all",
    "check_bad_arguments",
    "check_class_and_layer_choice",
    "check_declarations",
    "check_deterministic",
    "check_results",
    "check_untrained_marked",
    "default_backbone",
    "structure_backbone",
    "transformer_backbone",
]

IMAGES = ("cat", "coffee", "camera-gray")
samples = sample_paths


STRUCTURE_BACKBONE = "test_resnet"  # timm's tiny ResNet: 160 px, a few layers, ImageNet's 1,000 classes


def default_backbone() -> Backbone:
    """The backbone every check runs on: `STRUCTURE_BACKBONE`, random weights, on the CPU."""
    return load_backbone(STRUCTURE_BACKBONE, device="cpu", weights=RANDOM)


@functools.cache
def chain_backbone() -> Backbone:
    """A tiny VGG-like chain (convolutions, batch norm, ReLU, max-pooling, one linear layer over ImageNet's classes),
    seeded random weights, 64 px: for the methods whose rules need a network without skip connections (LRP)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 1000),
        )
    labels = default_backbone().labels
    return wrap_model(model, "tiny_chain", labels=labels, input_size=(64, 64), device="cpu", untrained=True)


def transformer_backbone() -> Backbone:
    """timm's tiny ViT `test_vit` (160 px, 6 blocks of width 64, a class token), random weights, on the CPU: for the
    methods that read a transformer's attention and so refuse both convolutional networks above."""
    return load_backbone("test_vit", device="cpu", weights=RANDOM)


def structure_backbone(plugin: Plugin) -> Backbone:
    """`default_backbone()`, or the first of `chain_backbone()` and `transformer_backbone()` the method accepts when
    it refuses that one (a method refused by all three is run on the first, and fails there in words)."""
    backbone = default_backbone()
    if plugin.refusal(backbone) is None:
        return backbone
    return next(
        (other for other in (chain_backbone(), transformer_backbone()) if plugin.refusal(other) is None), backbone
    )


def check_declarations(plugin: Plugin) -> None:
    """The declarations are complete and consistent; the description teaches in a sentence or more."""
    plugin.validate()
    assert plugin.title and len(plugin.description) > 40, "write a description of a sentence or more"
    assert plugin.output in ("heatmap", "images")


def check_results(plugin: Plugin) -> None:
    """Right types, shapes and ranges on three different images, with the class and layer reported."""
    backbone = structure_backbone(plugin)
    size = backbone.prepare(samples()[IMAGES[0]])[1].size[::-1]
    for stem in IMAGES:
        result = _quick_run(plugin, backbone, stem)
        assert isinstance(result, Visualization) and result.plugin == plugin.name
        assert result.images and all(isinstance(im, Image.Image) and im.mode == "RGB" for im in result.images)
        assert len(result.captions) == len(result.images)
        if plugin.output == "heatmap":
            heat = result.heatmap
            assert heat.dtype == np.float32 and heat.shape == size, f"heatmap {heat.shape}, model view {size}"
            assert np.isfinite(heat).all() and heat.min() >= 0.0 and heat.max() <= 1.0
            assert abs(float(heat.max()) - 1.0) < 1e-6 or plugin.signed, "an unsigned map reaches 1 after normalising"
            assert heat.std() > 0.01, f"a flat map on {stem}"
            assert result.images[0].size == size[::-1]
        else:
            assert result.heatmap is None
        if plugin.needs_target:
            top = backbone.predict(samples()[stem], k=1)[0]
            assert (result.target, result.label) == top[:2] and abs(result.probability - top[2]) < 1e-5
        else:
            assert result.target is None
        if plugin.needs_layer:
            assert result.layer.name == plugin.auto_layer(backbone)
        assert result.seconds > 0 and result.untrained is backbone.untrained


def check_deterministic(plugin: Plugin) -> None:
    """The same input gives the same pictures twice (seed any randomness the method uses)."""
    backbone = structure_backbone(plugin)
    first = _quick_run(plugin, backbone, "cat")  # the results check's run when it ran before: other runs came between
    second = plugin.run(backbone, samples()["cat"], **plugin.quick_params)
    if plugin.output == "heatmap":
        np.testing.assert_array_equal(first.heatmap, second.heatmap)
    for a, b in zip(first.images, second.images):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def check_class_and_layer_choice(plugin: Plugin) -> None:
    """Any class and any layer can be asked for, and the result says which were used."""
    backbone = structure_backbone(plugin)
    layer = next((layer.name for layer in backbone.layers if layer.depth_name == "early"), None)
    result = plugin.run(
        backbone,
        samples()["coffee"],
        target=968 if plugin.needs_target else None,
        layer=layer if plugin.needs_layer else None,
        **plugin.quick_params,
    )
    if plugin.needs_target:
        assert (result.target, result.label) == (968, "cup")
    if plugin.needs_layer:
        assert result.layer.name == layer and result.layer.depth_name == "early"


def check_bad_arguments(plugin: Plugin) -> None:
    """Unknown parameters, out-of-range values, classes and layers are ValueErrors with a message."""
    backbone, cat = structure_backbone(plugin), samples()["cat"]
    _raises(ValueError, "has no parameter", lambda: plugin.run(backbone, cat, not_a_param=1))
    for param in plugin.all_params:
        bad = (
            "not-a-choice" if param.kind == "choice" else (param.maximum + 1 if param.maximum is not None else "maybe")
        )
        settings = {**plugin.quick_params, param.name: bad}
        _raises(ValueError, "", lambda settings=settings: plugin.run(backbone, cat, **settings))
        if param.kind == "image":  # a file that is no picture is refused by the imaging room, like an upload
            settings = {**plugin.quick_params, param.name: Path(__file__)}
            _raises(ValueError, param.display_label, lambda settings=settings: plugin.run(backbone, cat, **settings))
    if plugin.needs_target:
        _raises(ValueError, "from 0 to 999", lambda: plugin.run(backbone, cat, target=1000))
    if plugin.needs_layer:
        _raises(ValueError, "no layer called", lambda: plugin.run(backbone, cat, layer="nowhere"))


def check_untrained_marked(plugin: Plugin) -> None:
    """With random weights every picture carries the red UNTRAINED band."""
    result = _quick_run(plugin, structure_backbone(plugin), "cat")
    assert result.untrained
    for image in result.images:
        band = np.asarray(image)[:3]
        assert (band[..., 0] > 150).all() and (band[..., 1] < 60).all(), "the red warning band is missing"


CONTRACT: dict[str, Callable[[Plugin], None]] = {
    "declarations": check_declarations,
    "results": check_results,
    "deterministic": check_deterministic,
    "class_and_layer_choice": check_class_and_layer_choice,
    "bad_arguments": check_bad_arguments,
    "untrained_marked": check_untrained_marked,
}


def check(plugin: Plugin, name: str) -> None:
    """Run one named check of the contract on `plugin`."""
    CONTRACT[name](plugin)


def check_all(plugin: Plugin) -> None:
    """Run the whole contract on `plugin` (for scripts; tests should parametrize over CONTRACT)."""
    for name in CONTRACT:
        check(plugin, name)


_QUICK_RUNS: weakref.WeakKeyDictionary[Plugin, dict[tuple[str, str], Visualization]] = weakref.WeakKeyDictionary()


def _quick_run(plugin: Plugin, backbone: Backbone, stem: str) -> Visualization:
    """`plugin.run` on a sample at its quick settings, once per process: the checks that only read the result share
    it (each costs a run of every plugin otherwise); `check_deterministic` compares it with a fresh run."""
    runs = _QUICK_RUNS.setdefault(plugin, {})  # keyed on the object: an edited, reloaded plugin is run afresh
    if (backbone.name, stem) not in runs:
        runs[backbone.name, stem] = plugin.run(backbone, samples()[stem], **plugin.quick_params)
    return runs[backbone.name, stem]


def _raises(kind: type[BaseException], words: str, call: Callable[[], object]) -> None:
    try:
        call()
    except kind as exc:
        assert words in str(exc), f"expected {words!r} in the message, got {exc}"
        return
    raise AssertionError(f"expected {kind.__name__} ({words or 'any message'}), nothing was raised")
