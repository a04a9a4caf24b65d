"""The "What a channel looks for" plugin: the channels it picks, its pictures and patches, and its refusals."""

from __future__ import annotations

import pytest

import registry

PLUGIN = registry.get_plugin("feature_vis")


def test_the_strongest_channels_on_the_image_or_the_ones_named(tiny, samples):
    strongest = PLUGIN.run(tiny, samples["cat"], layer="middle", count=2, steps=8, size=32, examples=2)
    assert len(strongest.images) == 2 and "then the real patches that excite it most" in strongest.captions[0]
    assert any("8 Adam steps" in note for note in strongest.notes)
    assert any("as much (mean over positions) as the most exciting of the" in note for note in strongest.notes)
    assert strongest.images[0].size[0] > 3 * 112  # a row: the picture, then two patches
    named = PLUGIN.run(tiny, samples["cat"], layer="middle", count=3, first_channel=4, steps=8, size=32)
    assert "(#4, #5, #6)" in named.captions[0]


def test_a_channel_past_the_layers_last_is_refused_in_words(tiny, samples):
    layer = tiny.suggested_layer("middle")
    channels = tiny.layer_info(layer).channels
    with pytest.raises(ValueError, match=f"has channels 0 to {channels - 1}; there is no channel {channels}"):
        PLUGIN.run(tiny, samples["cat"], layer=layer, first_channel=channels, steps=8, size=32)
