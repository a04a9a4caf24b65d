"""The renderer: overlays line up with the model view; colormaps come from matplotlib."""

import matplotlib
import numpy as np
from PIL import Image, ImageDraw

import registry
from registry import render


def test_colorize_uses_matplotlib_colormap():
    heat = np.array([[0.0, 1.0]], dtype=np.float32)
    pixels = np.asarray(render.colorize(heat, "viridis"))
    expected = (np.asarray(matplotlib.colormaps["viridis"]([0.0, 1.0]))[:, :3] * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(pixels[0], expected)


def test_colorize_equals_calling_the_colormap_on_every_pixel():
    """colorize looks colours up in the colormap's table itself: every value, the ends, values outside [0, 1], NaN
    and float32 maps get exactly the colour matplotlib's own call gives."""
    rng = np.random.default_rng(0)
    maps = (
        rng.random((64, 48)),
        rng.random((7, 7)).astype(np.float32),
        np.linspace(-0.2, 1.2, 20_001).reshape(1, -1),
        np.array([[0.0, 1.0, 0.5, np.nan, 1 - 1e-12, 1 / 256, 255 / 256, -np.inf, np.inf]]),
    )
    for colormap in (*render.COLORMAPS, *render.SIGNED_COLORMAPS):
        for heat in maps:
            expected = matplotlib.colormaps[colormap](np.clip(heat, 0.0, 1.0))
            expected = (expected[..., :3] * 255 + 0.5).astype(np.uint8)
            assert np.array_equal(np.asarray(render.colorize(heat, colormap)), expected), colormap


def test_overlay_keeps_view_size_and_blends():
    view = Image.new("RGB", (30, 20), (0, 0, 0))
    heat = np.ones((20, 30), dtype=np.float32)
    blended = render.overlay(view, heat, "gray", 0.5)
    assert blended.size == (30, 20)
    assert abs(np.asarray(blended).mean() - 127.5) < 1.5
    assert np.asarray(render.overlay(view, heat, "gray", 0.0)).max() == 0


def test_grid_places_every_tile():
    tiles = [render.tile(np.arange(16, dtype=np.float32).reshape(4, 4), 32) for _ in range(5)]
    sheet = render.grid(tiles, [str(i) for i in range(5)], columns=3)
    assert sheet.size == (3 * 36 + 4, 2 * 36 + 4)


def test_stamp_marks_the_image():
    marked = render.stamp(Image.new("RGB", (200, 100), (0, 0, 0)), "UNTRAINED WEIGHTS")
    top = np.asarray(marked)[:4]
    assert (top[..., 0] > 150).all() and (top[..., 1] < 50).all()


def test_colour_bar_shows_the_scale_in_raw_units():
    image = Image.new("RGB", (448, 448), (10, 20, 30))
    barred = render.with_colorbar(image, "jet", 0.72)
    assert barred.width == 448 and barred.height > 448
    assert np.array_equal(np.asarray(barred)[:448], np.asarray(image))  # the picture itself is untouched
    bar = np.asarray(barred)[448:].astype(int)
    row = bar[render.BAR_PX // 2 + 2]  # through the middle of the bar
    coloured = np.flatnonzero(np.abs(row - row.mean(axis=1, keepdims=True)).sum(axis=1) > 30)  # not grey or white
    low, high = (np.asarray(render.colorize(np.full((1, 1), value), "jet"))[0, 0] for value in (0.0, 1.0))
    assert np.abs(row[coloured[0] + 1] - low).max() < 40  # the left end has the colour of 0 …
    assert np.abs(row[coloured[-1] - 1] - high).max() < 40  # … the right end the colour of 1
    assert coloured[-1] - coloured[0] > 400  # the bar spans the picture


def test_a_bar_for_maps_on_their_own_range_and_a_signed_bar_differ_from_the_raw_one():
    raw, own, signed = (
        np.asarray(render.colorbar(224, "bwr", scale, sign))
        for scale, sign in ((0.5, False), (None, False), (0.5, True))
    )
    assert raw.shape == own.shape == signed.shape and raw.shape[1] == 224
    assert not np.array_equal(raw, own) and not np.array_equal(raw, signed)  # different tick words
    labelled = render.colorbar(224, "bwr", 0.5, label="one scale for the maps above")
    assert labelled.height > raw.shape[0]  # the label is a line of its own


def test_the_figures_font_draws_every_character_of_the_method_titles():
    """Pillow's default font has no "×": Compare's figure read "Input⊠Gradient". A character the font lacks draws
    the same box as a code point nobody has (U+FFFF); none of the titles or figure words may."""
    font = render.load_font(16)

    def drawn(text: str) -> bytes:
        sheet = Image.new("L", (40, 40))
        ImageDraw.Draw(sheet).text((8, 8), text, fill=255, font=font)
        return sheet.tobytes()

    missing = drawn("\uffff")
    words = "".join(plugin.title for plugin in registry.list_plugins()) + "×−→±·…≈"
    lacking = {ch for ch in set(words) if not ch.isspace() and drawn(ch) == missing}
    assert not lacking, f"the figure font draws a box for {sorted(lacking)}"
