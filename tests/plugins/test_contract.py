"""The contract every registered plugin must meet, checked for each one (as timm tests its models).

A new plugin — built in, in an extra folder or from a package — gets these tests for free.
"""

import numpy as np
import pytest
from PIL import Image

import registry

PLUGINS = [plugin.name for plugin in registry.list_plugins()]
IMAGES = ["cat", "coffee", "camera-gray"]


@pytest.fixture(scope="module", params=PLUGINS)
def plugin(request) -> registry.Plugin:
    return registry.get_plugin(request.param)


def test_declarations_are_complete(plugin):
    plugin.validate()
    assert plugin.title and len(plugin.description) > 40
    assert plugin.output in ("heatmap", "images")
    assert plugin.source.startswith(("plugins/", "/", "entry point"))  # the loader recorded where it came from


@pytest.mark.parametrize("image", IMAGES)
def test_result_types_shapes_and_ranges(plugin, image, lite0, samples):
    result = plugin.run(lite0, samples[image])
    assert isinstance(result, registry.Visualization) and result.plugin == plugin.name
    assert result.images and all(isinstance(im, Image.Image) and im.mode == "RGB" for im in result.images)
    assert len(result.captions) == len(result.images)
    if plugin.output == "heatmap":
        heat = result.heatmap
        assert heat.dtype == np.float32 and heat.shape == (224, 224)
        assert np.isfinite(heat).all() and heat.min() >= 0.0 and heat.max() <= 1.0
        assert heat.max() == pytest.approx(1.0) and heat.std() > 0.01  # a real map, not a flat one
        assert result.images[0].size == (224, 224)
    else:
        assert result.heatmap is None
    if plugin.needs_target:
        top = lite0.predict(samples[image], k=1)[0]
        assert (result.target, result.label) == top[:2] and result.probability == pytest.approx(top[2], abs=1e-5)
    else:
        assert result.target is None
    if plugin.needs_layer:
        assert result.layer.name == plugin.auto_layer(lite0)
    assert result.device == "cpu" and result.seconds > 0 and result.untrained is False


def test_same_result_twice(plugin, lite0, samples):
    first, second = plugin.run(lite0, samples["cat"]), plugin.run(lite0, samples["cat"])
    if plugin.output == "heatmap":
        np.testing.assert_array_equal(first.heatmap, second.heatmap)
    for a, b in zip(first.images, second.images):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_every_class_and_layer_can_be_chosen(plugin, lite0, samples):
    target = 968 if plugin.needs_target else None
    layer = "blocks.1" if plugin.needs_layer else None
    result = plugin.run(lite0, samples["coffee"], target=target, layer=layer)
    if plugin.needs_target:
        assert (result.target, result.label) == (968, "cup")
    if plugin.needs_layer:
        assert result.layer.name == "blocks.1" and result.layer.depth_name == "early"


def test_bad_arguments_are_clear_value_errors(plugin, lite0, samples):
    with pytest.raises(ValueError, match="has no parameter"):
        plugin.run(lite0, samples["cat"], not_a_param=1)
    for param in plugin.all_params:
        bad = "not-a-choice" if param.kind == "choice" else (param.maximum + 1 if param.maximum is not None else "maybe")
        with pytest.raises(ValueError):
            plugin.run(lite0, samples["cat"], **{param.name: bad})
    if plugin.needs_target:
        with pytest.raises(ValueError, match="from 0 to 999"):
            plugin.run(lite0, samples["cat"], target=1000)
    if plugin.needs_layer:
        with pytest.raises(ValueError, match="no layer called"):
            plugin.run(lite0, samples["cat"], layer="nowhere")


def test_untrained_weights_are_marked_on_every_image(plugin, samples):
    backbone = registry.load_backbone("tf_efficientnet_lite0", device="cpu", weights="random")
    result = plugin.run(backbone, samples["cat"])
    assert result.untrained
    for image in result.images:
        band = np.asarray(image)[:3]
        assert (band[..., 0] > 150).all() and (band[..., 1] < 60).all()  # the red warning band
