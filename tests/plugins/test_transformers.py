"""The map methods on ViT-style models: non-blank at the default layer, the CAM family equal to
pytorch-grad-cam given its documented token reshape, and every method either runs or is refused in words."""

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import registry
from registry.methods import normalize, top_channels
from testkit.transformers import BUILD, tokens_to_maps, transformer

ORACLES = {
    "gradcam": GradCAM,
    "gradcam_plusplus": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
}


def oracle(method, backbone, image, layer, target) -> np.ndarray:
    x, _ = backbone.prepare(image)
    _, module = backbone.module(layer)
    with method(model=backbone.model, target_layers=[module], reshape_transform=tokens_to_maps(backbone.model)) as cam:
        cam.batch_size = 16
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]


@pytest.mark.parametrize("kind", sorted(BUILD))
def test_grad_cam_is_not_blank_at_the_default_layer(kind, samples):
    backbone = transformer(kind)
    result = registry.get_plugin("gradcam").run(backbone, samples["cat"])
    assert (
        result.layer.name == backbone.default_layer
        and result.heatmap.shape == backbone.prepare(samples["cat"])[1].size[::-1]
    )
    assert result.heatmap.max() == pytest.approx(1.0) and result.heatmap.std() > 0.01


def test_a_layer_the_class_score_ignores_gives_a_blank_map_and_says_why(samples):
    result = registry.get_plugin("gradcam").run(transformer("vit"), samples["cat"], layer="blocks.11")
    assert result.heatmap.max() == 0.0
    assert any("gradient is zero at every location of blocks.11" in note for note in result.notes)


@pytest.mark.parametrize(
    "kind,layer", [("vit", None), ("registers", None), ("swin", None), ("vit", "middle"), ("eva", "middle")]
)
def test_gradient_cams_match_pytorch_grad_cam_with_its_token_reshape(kind, layer, samples):
    """Where the package finds a map, ours correlates above 0.95; where it finds none (a random model's
    class may have no positive evidence at a layer), ours is blank too."""
    backbone = transformer(kind)
    target = backbone.predict(samples["cat"], k=1)[0][0]
    for name, method in ORACLES.items():
        ours = registry.get_plugin(name).run(backbone, samples["cat"], target=target, layer=layer).heatmap
        theirs = oracle(method, backbone, samples["cat"], backbone.suggested_layer(layer or "final"), target)
        if theirs.std() < 1e-3:
            assert ours.std() < 1e-3, (name, kind, layer)
        else:
            assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.95, (name, kind, layer)


def test_scorecam_on_swins_nhwc_stage_equals_the_packages(samples):
    backbone = transformer("swin")
    target = backbone.predict(samples["cat"], k=1)[0][0]
    ours = registry.get_plugin("scorecam").run(backbone, samples["cat"], target=target, layer="layers.0", channels=4096)
    theirs = oracle(ScoreCAM, backbone, samples["cat"], "layers.0", target)
    assert np.corrcoef(ours.heatmap.ravel(), theirs.ravel())[0, 1] > 0.99
    assert "scored 32 of 32 channels" in " ".join(ours.notes)


def test_ablation_cam_switches_off_patch_channels_and_keeps_the_class_and_register_tokens(samples):
    """Expected weights computed by hand: zero one channel at the patch tokens only, read the score drop."""
    backbone = transformer("registers")
    layer, prefix = backbone.default_layer, backbone.model.num_prefix_tokens
    _, module = backbone.module(layer)
    x, _ = backbone.prepare(samples["cat"])
    captured = {}
    handle = module.register_forward_hook(lambda _m, _i, output: captured.setdefault("tokens", output.detach()))
    with torch.no_grad():
        logits = backbone.model(x)
    handle.remove()
    target, tokens = int(logits[0].argmax()), captured["tokens"]
    patches = tokens[:, prefix:].reshape(1, 8, 8, -1).permute(0, 3, 1, 2)  # (1, C, 8, 8)
    chosen = top_channels(patches, 4)
    drops = []
    for channel in chosen.tolist():
        ablated = tokens.clone()
        ablated[:, prefix:, channel] = 0
        handle = module.register_forward_hook(lambda _m, _i, _o, out=ablated: out)
        with torch.no_grad():
            drops.append(float(logits[0, target] - backbone.model(x)[0, target]))
        handle.remove()
    weights = torch.tensor(drops) / float(logits[0, target])
    expected = torch.relu((weights[:, None, None] * patches[0, chosen]).sum(dim=0))
    result = registry.get_plugin("ablationcam").run(backbone, samples["cat"], channels=4)
    np.testing.assert_allclose(result.heatmap, normalize(expected, result.heatmap.shape, False), atol=1e-4)
    assert not module._forward_hooks


@pytest.mark.parametrize("name", [plugin.name for plugin in registry.list_plugins()])
def test_every_method_runs_on_a_vit_or_is_refused_in_words(name, samples):
    """Gradient methods need only a differentiable model; map methods read the token grid (at the middle
    block here, where every CAM of this random model finds positive evidence; the default is tested above)."""
    backbone, plugin = transformer("vit"), registry.get_plugin(name)
    settings = {**plugin.quick_params, **({"layer": "middle"} if plugin.needs_layer else {})}
    refusal = plugin.refusal(backbone)
    if refusal:
        with pytest.raises(registry.Unsupported, match="does not apply to vit_tiny_patch16_224"):
            plugin.run(backbone, samples["cat"], **settings)
        return
    result = plugin.run(backbone, samples["cat"], **settings)
    if name == "refine_cam" and not result.heatmap.any():  # a product of six blocks' maps: on this random model they
        # share no hot place, so the product is blank, and the result must say so
        assert "zero everywhere" in " ".join(result.notes), result.notes
    elif plugin.output == "heatmap":
        assert result.heatmap.shape == (224, 224) and np.isfinite(result.heatmap).all() and result.heatmap.std() > 0.01
    else:
        assert result.images and "14×14" in result.captions[0]


def test_refine_cam_leaves_out_a_class_token_vits_blank_last_block_and_says_so(samples):
    """A class-token ViT's last block passes nothing from its patch tokens to the class score: its map is blank, and
    multiplied in it would blank the product. RefineCAM leaves it out, names it, and multiplies the rest. (On these
    random weights the rest's product is still zero: the places the six maps light do not overlap; the last,
    blocks.11.norm1, lights 2 % of the picture.)"""
    result = registry.get_plugin("refine_cam").run(transformer("vit"), samples["cat"])
    left_out = [note for note in result.notes if note.startswith("Left out of the product")]
    assert left_out == ["Left out of the product, blank everywhere (nothing there reaches the class score): blocks.11."]
    multiplied = next(note for note in result.notes if "maps multiplied at" in note)
    assert "blocks.10," in multiplied and "blocks.11," not in multiplied
