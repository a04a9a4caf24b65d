"""The one place that turns numbers into pictures: heatmaps, overlays, tiles, grids and the drawing primitives.

It takes plain data (arrays, images, words); the figures of a comparison or a trust check, which read
those results, live with them in registry/analysis/_figures.py and draw with these primitives.
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "BAR_PX",
    "COLORMAPS",
    "SIGNED_COLORMAPS",
    "TILE_COLORMAP",
    "caption",
    "colorbar",
    "colorize",
    "concept_colors",
    "concepts",
    "fit",
    "grid",
    "load_font",
    "note_tile",
    "overlay",
    "rgb_patch",
    "stack",
    "stamp",
    "tile",
    "with_colorbar",
]

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma", "gray")
SIGNED_COLORMAPS = ("bwr", "coolwarm", "seismic", "PiYG")
TILE_COLORMAP = "viridis"  # an activation channel's tile, unless its caller chooses


def colorize(heatmap: np.ndarray, colormap: str = "jet") -> Image.Image:
    """Map a float array with values in [0, 1] to an RGB image with a matplotlib colormap: the colormap's own table of
    colours, looked up as matplotlib looks it up (value × N, the top value in the last entry; NaN in its "bad"
    colour), without calling it on every pixel (a third of a small method's rendering)."""
    table, bad = _colour_table(colormap)
    scaled = np.multiply(heatmap, len(table), dtype=np.float64)
    np.clip(scaled, 0, len(table) - 1, out=scaled)
    missing = np.isnan(scaled)
    has_missing = bool(missing.any())
    if has_missing:
        scaled[missing] = 0
    rgb = np.take(table, scaled.astype(np.intp), axis=0)
    if has_missing:
        rgb[missing] = bad
    return Image.fromarray(rgb)


@functools.cache
def _colour_table(colormap: str) -> tuple[np.ndarray, np.ndarray]:
    """(N × 3 uint8 colours, the "bad" colour) of a matplotlib colormap."""
    cmap = matplotlib.colormaps[colormap]
    to_bytes = lambda rgba: (np.asarray(rgba)[..., :3] * 255.0 + 0.5).astype(np.uint8)  # noqa: E731
    return to_bytes(cmap(np.arange(cmap.N))), to_bytes(cmap.get_bad())


def overlay(view: Image.Image, heatmap: np.ndarray, colormap: str = "jet", opacity: float = 0.5) -> Image.Image:
    """Blend the colorized heatmap over the image the model saw (same size by construction)."""
    heat = colorize(heatmap, colormap)
    if heat.size != view.size:
        heat = heat.resize(view.size, Image.Resampling.BILINEAR)
    return Image.blend(view.convert("RGB"), heat, float(opacity))


def concept_colors(count: int) -> list[tuple[int, int, int]]:
    """`count` distinct RGB colours, one a concept (matplotlib's tab10, then tab20's others)."""
    table = [*matplotlib.colormaps["tab10"].colors, *matplotlib.colormaps["tab20"].colors[1::2]]
    return [tuple(int(round(255 * c)) for c in table[i % len(table)]) for i in range(count)]


def concepts(view: Image.Image, maps: np.ndarray, opacity: float = 0.7) -> Image.Image:
    """Concepts over the image: each pixel in the colour of its strongest concept, as bright as that concept is
    there. `maps` (K, H, W) in [0, 1] at the view's size (pytorch-grad-cam's show_factorization_on_image, in one
    blend)."""
    colors = np.asarray(concept_colors(len(maps)), dtype=np.float32)
    strongest = maps.argmax(axis=0)
    strength = np.take_along_axis(maps, strongest[None], axis=0)[0, ..., None]
    painted = colors[strongest] * strength
    base = np.asarray(view.convert("RGB"), dtype=np.float32)
    blended = (1 - opacity) * base + opacity * painted
    return Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8))


def tile(values: np.ndarray, size: int, colormap: str = TILE_COLORMAP) -> Image.Image:
    """One activation channel, stretched to [0, 1] on its own range, as a square-ish tile."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    image = colorize(scaled, colormap)
    scale = size / max(image.size)
    # Nearest keeps the layer's real resolution visible: a 7x7 map should look like 7x7 cells.
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.NEAREST
    )


def grid(
    tiles: list[Image.Image],
    captions: list[str],
    columns: int | None = None,
    gap: int = 4,
    below: list[Image.Image | None] | None = None,
) -> Image.Image:
    """Lay tiles out in rows with a caption stamped in each tile's corner (none for an empty caption); `below`
    puts a strip under a tile (its colour bar, say), None under the others."""
    if not tiles:
        raise ValueError("grid() needs at least one tile")
    columns = columns or int(np.ceil(np.sqrt(len(tiles))))
    rows = int(np.ceil(len(tiles) / columns))
    width, height = tiles[0].size
    below = below or []
    strip = max((item.height for item in below if item is not None), default=0)
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + strip + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = load_font(max(10, height // 9))
    for index, (image, caption) in enumerate(zip(tiles, captions)):
        x = gap + (index % columns) * (width + gap)
        y = gap + (index // columns) * (height + strip + gap)
        sheet.paste(image, (x, y))
        if index < len(below) and below[index] is not None:
            sheet.paste(below[index], (x, y + height))
        if not caption:  # an empty caption leaves the tile whole (filter patches are read pixel by pixel)
            continue
        box = draw.textbbox((x + 3, y + 2), caption, font=font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((x + 3, y + 2), caption, fill=(255, 255, 255), font=font)
    return sheet


def rgb_patch(values: np.ndarray, size: int) -> Image.Image:
    """An (h, w, 3) array in [0, 1] as an RGB picture `size` pixels wide, each value a solid block
    (nearest-neighbour: a 3×3 convolution filter stays nine visible squares)."""
    array = (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    image = Image.fromarray(array)
    return image.resize((size, max(1, round(size * image.height / image.width))), Image.Resampling.NEAREST)


def stamp(image: Image.Image, text: str) -> Image.Image:
    """Write a warning band across the top of an image (used for untrained weights)."""
    marked = image.convert("RGB").copy()
    draw = ImageDraw.Draw(marked)
    font = load_font(max(10, marked.height // 16))
    box = draw.textbbox((0, 0), text, font=font)
    band = box[3] - box[1] + 8
    draw.rectangle((0, 0, marked.width, band), fill=(190, 0, 0))
    draw.text(((marked.width - (box[2] - box[0])) // 2, 3), text, fill=(255, 255, 255), font=font)
    return marked


def caption(image: Image.Image, lines: list[str]) -> Image.Image:
    """Write `lines` on a dark band across the bottom of an image (a video frame's top classes)."""
    marked = image.convert("RGB").copy()
    draw = ImageDraw.Draw(marked)
    font = load_font(max(9, marked.height // 18))
    step = font.getbbox("Ag")[3] + 2
    top = marked.height - step * len(lines) - 4
    draw.rectangle((0, top, marked.width, marked.height), fill=(20, 20, 20))
    for number, line in enumerate(lines):
        draw.text((4, top + 2 + number * step), line, fill=(255, 255, 255), font=font)
    return marked


@functools.lru_cache(maxsize=16)
def load_font(size: int) -> ImageFont.ImageFont:
    """DejaVu Sans, which matplotlib ships: Pillow's own default (Aileron) has no ×, − or → and draws a box for
    them ("Input × Gradient" became "Input⊠Gradient" in Compare's figure); Aileron only if the file is missing."""
    try:
        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except OSError:
        return ImageFont.load_default(size=size)


def fit(image: Image.Image, size: int) -> Image.Image:
    """Scale to fit a size×size square, centred on white (feature-map sheets are not square)."""
    scale = size / max(image.size)
    resized = image.convert("RGB").resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    square = Image.new("RGB", (size, size), (255, 255, 255))
    square.paste(resized, ((size - resized.width) // 2, (size - resized.height) // 2))
    return square


def note_tile(draw: ImageDraw.ImageDraw, corner: tuple[int, int], size: int, text: str, fill, ink, font) -> None:
    x, y = corner
    draw.rectangle((x, y, x + size - 1, y + size - 1), fill=fill)
    draw.multiline_text(
        (x + size // 2, y + size // 2), text, fill=ink, font=font, anchor="mm", align="center", spacing=3
    )


def with_colorbar(
    image: Image.Image, colormap: str, scale: float | None, signed: bool = False, label: str = ""
) -> Image.Image:
    """`image` with its colour bar beneath it (see `colorbar`): what the colours mean in the map's raw units."""
    return stack(image, colorbar(image.width, colormap, scale, signed, label))


def stack(image: Image.Image, below: Image.Image) -> Image.Image:
    """`below` under `image`, left-aligned on white: a picture and its colour bar as one file."""
    sheet = Image.new("RGB", (max(image.width, below.width), image.height + below.height), (255, 255, 255))
    sheet.paste(image.convert("RGB"), (0, 0))
    sheet.paste(below.convert("RGB"), (0, image.height))
    return sheet


BAR_PX = 10  # the bar's own height; its tick labels (and a label, if any) sit below it


@functools.lru_cache(maxsize=128)  # a figure draws the same few scales many times (one per column, per class)
def colorbar(width: int, colormap: str, scale: float | None, signed: bool = False, label: str = "") -> Image.Image:
    """A horizontal matplotlib colour bar `width` px wide, with its ticks in the map's raw units.

    `scale` is the raw value drawn at the top of the colours (signed maps: -scale to +scale, zero in the middle);
    None for pictures whose maps are each stretched to their own range, whose ends then read "lowest" and
    "highest". `label` is a line under the ticks. The caller must not draw on the image (it is cached).
    """
    font = 7.5 if width < 300 else 9.0  # points at 100 dpi: about 10 and 12 px
    text_px = round(font * 100 / 72) + 4
    height = BAR_PX + 4 + text_px + (text_px if label else 0) + 2
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)
    pad = 6 / width
    axes = figure.add_axes((pad, 1 - (BAR_PX + 2) / height, 1 - 2 * pad, BAR_PX / height))
    if scale is None:
        norm, ticks, words = Normalize(0.0, 1.0), [0.0, 1.0], ["lowest", "highest"]
    else:
        low = -scale if signed else 0.0
        norm, ticks = Normalize(low, scale), [low, (low + scale) / 2, scale]
        words = ["0" if tick == 0 else f"{tick:.3g}" for tick in ticks]
    bar = figure.colorbar(ScalarMappable(norm, matplotlib.colormaps[colormap]), cax=axes, orientation="horizontal")
    bar.set_ticks(ticks, labels=words)
    bar.ax.tick_params(labelsize=font, length=3, pad=1)
    bar.outline.set_linewidth(0.5)
    ends = bar.ax.get_xticklabels()
    ends[0].set_horizontalalignment("left")  # the end labels stay inside the picture, however long the number
    ends[-1].set_horizontalalignment("right")
    if label:
        bar.set_label(label, fontsize=font, labelpad=1)
    figure.canvas.draw()
    return Image.fromarray(np.asarray(figure.canvas.buffer_rgba())[..., :3].copy())
