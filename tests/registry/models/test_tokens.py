"""Transformers' token maps: the grid read from the model, one conversion, blocks listed, a measured default."""

import pytest
import torch

from registry.methods._shared_pass import SharedPass
from registry.models import NHWC, TOKENS, Layout, token_grid
from testkit.transformers import transformer

# kind → (grid height, grid width, prefix tokens, layout of the default layer, default layer)
EXPECTED = {
    "vit": (14, 14, 1, TOKENS, "blocks.11.norm1"),
    "deit": (14, 14, 2, TOKENS, "blocks.11.norm1"),
    "registers": (8, 8, 5, TOKENS, "blocks.11.norm1"),
    "eva": (16, 16, 1, TOKENS, "blocks.11"),
    "swin": (56, 56, 0, NHWC, "norm"),
}
CLASS_TOKEN_POOLED = ["vit", "deit", "registers"]


def test_tokens_become_a_map_without_their_prefix_and_go_back_keeping_it():
    layout = Layout(TOKENS, prefix=2, height=2, width=3)
    tokens = torch.arange(1 * 8 * 4, dtype=torch.float32).reshape(1, 8, 4)  # 2 prefix tokens, then a 2×3 grid
    maps = layout.to_map(tokens)
    assert maps.shape == (1, 4, 2, 3)
    assert torch.equal(maps[0, :, 1, 0], tokens[0, 2 + 3])  # row 1, column 0 is the fourth patch
    ablated = maps.repeat(3, 1, 1, 1)
    ablated[1, 2] = 0
    back = layout.from_map(ablated, tokens)
    assert back.shape == (3, 8, 4) and torch.equal(back[:, :2], tokens[:, :2].expand(3, -1, -1))  # prefix kept
    assert (
        torch.equal(back[0], tokens[0])
        and (back[1, 2:, 2] == 0).all()
        and torch.equal(back[1, 2:, 3], tokens[0, 2:, 3])
    )


def test_nhwc_maps_are_permuted_both_ways():
    layout = Layout(NHWC, height=2, width=3)
    nhwc = torch.randn(1, 2, 3, 5)
    assert torch.equal(layout.to_map(nhwc), nhwc.permute(0, 3, 1, 2))
    assert torch.equal(layout.from_map(layout.to_map(nhwc), nhwc), nhwc)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_the_grid_and_prefix_come_from_the_model(kind):
    backbone = transformer(kind)
    height, width, prefix, layout, default = EXPECTED[kind]
    grid = token_grid(backbone.model, backbone.data_config["input_size"])
    assert (grid.height, grid.width, grid.prefix) == (height, width, prefix)
    info = backbone.layer_info(None)
    assert info.name == default and info.layout.kind == layout and info.depth_name == "final"
    if layout == TOKENS:
        assert (info.height, info.width) == (height, width) and info.layout.prefix == prefix


def test_a_cnn_has_no_token_grid_and_keeps_its_layers(lite0):
    assert token_grid(lite0.model, lite0.data_config["input_size"]) is None
    assert lite0.default_layer == "bn2" and all(layer.layout.kind == "NCHW" for layer in lite0.layers)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_the_default_layer_gets_a_gradient_at_every_patch(kind, samples):
    backbone = transformer(kind)
    x, _ = backbone.prepare(samples["cat"])
    with backbone.lock:
        shared = SharedPass(backbone, x, layers=[backbone.default_layer], gradients=True)
        for target in shared.probabilities.topk(3).indices.tolist():
            gradients = shared.gradients(target, backbone.default_layer)
            assert (gradients.abs().sum(dim=1) > 0).all(), (kind, target)


@pytest.mark.parametrize("kind", CLASS_TOKEN_POOLED)
def test_after_the_last_blocks_first_norm_a_class_token_model_ignores_its_patches(kind, samples):
    """The evidence for the default: the last block's attention, MLP, norm2 and output get exactly zero
    gradient at every patch token (only the class token reaches the head); its norm1 and the block
    before it do not."""
    backbone = transformer(kind)
    x, _ = backbone.prepare(samples["cat"])
    dead = ["blocks.11.attn", "blocks.11.norm2", "blocks.11.mlp", "blocks.11"]
    alive = ["blocks.10", "blocks.11.norm1"]
    with backbone.lock:
        shared = SharedPass(backbone, x, layers=dead + alive, gradients=True)
        target = shared.top1[0]
        for layer in dead:
            assert not shared.gradients(target, layer).any(), layer
        for layer in alive:
            assert (shared.gradients(target, layer).abs().sum(dim=1) > 0).all(), layer


@pytest.mark.parametrize(
    "kind,blocks",
    [
        ("vit", [f"blocks.{i}" for i in range(12)]),
        ("swin", ["layers.0.blocks.0", "layers.2.blocks.1", "layers.3.blocks.0"]),
    ],
)
def test_the_layer_list_shows_the_blocks_with_their_grid(kind, blocks):
    backbone = transformer(kind)
    names = [layer.name for layer in backbone.layers]
    assert set(blocks) <= set(names) and backbone.default_layer in names
    assert [names.index(block) for block in blocks] == sorted(names.index(block) for block in blocks)
    if kind == "vit":
        assert backbone.layer_info("blocks.3").label == "blocks.3 · 192×14×14 · stage 4 · early"
    else:
        assert backbone.layer_info("layers.2.blocks.1").label == "layers.2.blocks.1 · 128×14×14 · middle"
    assert not any("qkv" in name or name.endswith(".attn") for name in names)  # projections are not offered


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_depth_words_give_three_layers_in_depth_order(kind):
    backbone = transformer(kind)
    chosen = [backbone.layer_info(backbone.suggested_layer(word)) for word in ("early", "middle", "final")]
    assert len({layer.name for layer in chosen}) == 3
    assert chosen[0].depth < chosen[1].depth < chosen[2].depth
    assert [layer.depth_name for layer in chosen] == ["early", "middle", "final"]
