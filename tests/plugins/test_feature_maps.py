"""Feature maps: the strongest channels of the chosen layer, at that layer's resolution."""

import numpy as np
import torch

import registry


def activations(backbone, image, layer):
    captured = []
    _, module = backbone.module(layer)
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
    with torch.no_grad():
        backbone.model(backbone.prepare(image)[0])
    handle.remove()
    return captured[0][0]


def shown(result) -> list[int]:
    """The channels named, in order, by the sheet's caption."""
    return [int(part) for part in result.captions[0].split(": ", 1)[1].replace("#", "").split(", ")]


def test_shows_the_most_active_channels_in_order(lite0, samples):
    result = registry.get_plugin("feature_maps").run(lite0, samples["cat"], layer="blocks.1", count=6)
    expected = activations(lite0, samples["cat"], "blocks.1").flatten(1).mean(1).argsort(descending=True)[:6]
    assert shown(result) == expected.tolist()
    assert "top 6 channels" in result.captions[0] and "blocks.1" in result.captions[0]
    # The sheet, then the strongest channel over the image and the view: no tile shown twice.
    assert len(result.images) == 3 and result.captions[1] == f"channel #{expected[0]}, the most active, over the image"
    assert result.images[1].size == result.images[2].size == (224, 224)


def test_rank_by_max_changes_the_order(lite0, samples):
    plugin = registry.get_plugin("feature_maps")
    by_max = plugin.run(lite0, samples["coffee"], layer="blocks.4", count=8, rank_by="max")
    expected = activations(lite0, samples["coffee"], "blocks.4").flatten(1).amax(1).argsort(descending=True)[:8]
    assert shown(by_max) == expected.tolist()


def distinct_rows(image, top: int = 56) -> int:
    """Different pixel rows in the lower half of a one-tile sheet (the caption sits in the upper half)."""
    return len({tuple(row) for row in np.asarray(image)[top:112, 4:116, 0].tolist()})


def test_tiles_keep_the_layer_resolution(lite0, samples):
    """Early layers are fine-grained (112×112 cells), the last one coarse (7×7): tiles show it."""
    plugin = registry.get_plugin("feature_maps")
    early = plugin.run(lite0, samples["cat"], layer="conv_stem", count=1).images[0]
    final = plugin.run(lite0, samples["cat"], layer="bn2", count=1).images[0]
    assert distinct_rows(final) <= 4 < distinct_rows(early)


def test_overlay_draws_each_channel_over_the_picture(lite0, samples):
    """With the overlay, a coarse final-layer channel is spread smoothly over the picture, and what is
    drawn at each cell's centre is that cell's activation (bilinear upsampling keeps it there)."""
    plugin = registry.get_plugin("feature_maps")
    result = plugin.run(lite0, samples["cat"], layer="bn2", count=1, overlay=True, colormap="gray")
    assert distinct_rows(result.images[0]) > 20  # the picture shows through: no longer 7 flat cells
    channel = activations(lite0, samples["cat"], "bn2")[shown(result)[0]].numpy()
    view = np.asarray(result.images[2].convert("L"), dtype=float)
    drawn = (np.asarray(result.images[1].convert("L"), dtype=float) - 0.5 * view) * 2  # undo the 50 % blend
    cell = 224 // channel.shape[0]
    centres = drawn[cell // 2 :: cell, cell // 2 :: cell]
    assert np.corrcoef(centres.ravel(), channel.ravel())[0, 1] > 0.99
