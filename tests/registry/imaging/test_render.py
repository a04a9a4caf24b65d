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
    row = np.asarray(barred)[452 + 3]
    assert tuple(row[4]) == tuple(np.asarray(render.colorize(np.zeros((1, 1)), "jet"))[0, 0])  # low end: colour of 0
    assert tuple(row[443]) == tuple(np.asarray(render.colorize(np.ones((1, 1)), "jet"))[0, 0])  # high end: colour of 1


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
