"""Layer discovery works for any timm CNN: the default is the last spatial feature map."""

import pytest

import registry
from registry.teaching import lesson

# Architecture → the layer Grad-CAM users pick by hand for it (pytorch-grad-cam's README table).
DEFAULTS = {
    "resnet18": "layer4",
    "resnet50": "layer4",
    "tf_efficientnet_lite0": "bn2",
    "efficientnet_b0": "bn2",
    "convnext_tiny": "stages.3",
    "densenet121": "features.norm5",
    "mobilenetv3_large_100": "blocks.6",
    "regnety_016": "s4",
}


@pytest.mark.parametrize("name,expected", sorted(DEFAULTS.items()))
def test_default_layer_is_the_last_spatial_map(name, expected):
    backbone = registry.load_backbone(name, device="cpu", weights="random")
    assert backbone.default_layer == expected
    last = backbone.layer_info(None)
    assert last.name == expected and last.height > 1 and last.depth_name == "final"


def test_candidates_cover_stages_and_convolutions_in_order(lite0):
    names = [layer.name for layer in lite0.layers]
    stages = [info["module"] for info in lite0.model.feature_info]
    assert set(stages) <= set(names)
    assert names[0] == "conv_stem" and names[-1] == "bn2"
    assert [names.index(s) for s in stages] == sorted(names.index(s) for s in stages)
    depths = [layer.depth for layer in lite0.layers]
    assert depths == sorted(depths) and depths[0] < 0.45 and depths[-1] == 1.0
    assert {layer.depth_name for layer in lite0.layers} == {"early", "middle", "final"}
    assert lite0.layer_info("blocks.0").depth_name == "early"
    assert "edges" in lesson.depth_lesson(lite0.layer_info("conv_stem"))


def test_unknown_layer_is_a_clear_error(lite0):
    with pytest.raises(ValueError, match="no layer called 'blocks.99'.*Did you mean"):
        lite0.module("blocks.99")


def test_any_module_name_can_be_used(lite0):
    name, module = lite0.module("blocks.3.0")
    assert name == "blocks.3.0" and lite0.layer_info(name).channels == 80


def test_suggested_layers_by_depth(lite0):
    assert lite0.suggested_layer("final") == "bn2"
    assert lite0.suggested_layer("early") == "blocks.0"
    assert lite0.suggested_layer("middle") == "blocks.2"
    assert lite0.layer_info("blocks.2").depth_name == "middle"


@pytest.mark.parametrize("name", ["classifier", "global_pool", "global_pool.flatten"])
def test_layers_without_a_spatial_map_are_refused(lite0, name):
    with pytest.raises(ValueError, match=f"Layer '{name}' of tf_efficientnet_lite0 has no spatial output"):
        lite0.module(name)
    assert name not in {layer.name for layer in lite0.layers}  # and never offered
