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


def test_shows_the_most_active_channels_in_order(lite0, samples):
    result = registry.get_plugin("feature_maps").run(lite0, samples["cat"], layer="blocks.1", count=6)
    expected = activations(lite0, samples["cat"], "blocks.1").flatten(1).mean(1).argsort(descending=True)[:6]
    assert result.captions[1:] == [f"channel {c}" for c in expected.tolist()]
    assert len(result.images) == 7  # the grid, then one tile per channel
    assert "top 6 channels" in result.captions[0] and "blocks.1" in result.captions[0]


def test_rank_by_max_changes_the_order(lite0, samples):
    plugin = registry.get_plugin("feature_maps")
    by_max = plugin.run(lite0, samples["coffee"], layer="blocks.4", count=8, rank_by="max")
    expected = activations(lite0, samples["coffee"], "blocks.4").flatten(1).amax(1).argsort(descending=True)[:8]
    assert by_max.captions[1:] == [f"channel {c}" for c in expected.tolist()]


def test_tiles_keep_the_layer_resolution(lite0, samples):
    """Early layers are fine-grained (112×112 cells), the last one coarse (7×7): tiles show it."""
    plugin = registry.get_plugin("feature_maps")
    early = plugin.run(lite0, samples["cat"], layer="conv_stem", count=1).images[1]
    final = plugin.run(lite0, samples["cat"], layer="bn2", count=1).images[1]
    distinct_rows = lambda im: len({tuple(row) for row in np.asarray(im)[:, :, 0].tolist()})  # noqa: E731
    assert distinct_rows(final) <= 7 < distinct_rows(early)
