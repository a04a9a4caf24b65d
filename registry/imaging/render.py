"""The one place that turns numbers into pictures: heatmaps, overlays, tiles, grids and the drawing primitives.

It takes plain data (arrays, images, words); the figures of a comparison or a trust check, which read
those results, live with them in registry/analysis/_figures.py and draw with these primitives.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "COLORMAPS",
    "SIGNED_COLORMAPS",
    "colorize",
    "fit",
    "grid",
    "load_font",
    "note_tile",
    "overlay",
    "rgb_patch",
    "stamp",
    "tile",
    "with_colorbar",
]

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma", "gray")
SIGNED_COLORMAPS = ("bwr", "coolwarm", "seismic", "PiYG")


def colorize(heatmap: np.ndarray, colormap: str = "jet") -> Image.Image:
    """Map a float array with values in [0, 1] to an RGB image with a matplotlib colormap."""
    rgba = matplotlib.colormaps[colormap](np.clip(heatmap, 0.0, 1.0))
    return Image.fromarray((rgba[..., :3] * 255.0 + 0.5).astype(np.uint8))


def overlay(view: Image.Image, heatmap: np.ndarray, colormap: str = "jet", opacity: float = 0.5) -> Image.Image:
    """Blend the colorized heatmap over the image the model saw (same size by construction)."""
    heat = colorize(heatmap, colormap)
    if heat.size != view.size:
        heat = heat.resize(view.size, Image.Resampling.BILINEAR)
    return Image.blend(view.convert("RGB"), heat, float(opacity))


def tile(values: np.ndarray, size: int, colormap: str = "viridis") -> Image.Image:
    """One activation channel, stretched to [0, 1] on its own range, as a square-ish tile."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    image = colorize(scaled, colormap)
    scale = size / max(image.size)
    # Nearest keeps the layer's real resolution visible: a 7x7 map should look like 7x7 cells.
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.NEAREST
    )


def grid(tiles: list[Image.Image], captions: list[str], columns: int | None = None, gap: int = 4) -> Image.Image:
    """Lay tiles out in rows with a caption stamped in each tile's corner (none for an empty caption)."""
    if not tiles:
        raise ValueError("grid() needs at least one tile")
    columns = columns or int(np.ceil(np.sqrt(len(tiles))))
    rows = int(np.ceil(len(tiles) / columns))
    width, height = tiles[0].size
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = load_font(max(10, height // 9))
    for index, (image, caption) in enumerate(zip(tiles, captions)):
        x = gap + (index % columns) * (width + gap)
        y = gap + (index // columns) * (height + gap)
        sheet.paste(image, (x, y))
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


@lru_cache(maxsize=16)
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


def with_colorbar(image: Image.Image, colormap: str, scale: float, signed: bool = False) -> Image.Image:
    """`image` with a labelled colour bar beneath it: what the colours mean in the map's raw units."""
    height, pad = max(14, image.height // 28), 4
    font = load_font(max(10, image.height // 32))
    labels = (f"{-scale:.3g}", "0", f"{scale:.3g}") if signed else ("0", f"{scale / 2:.3g}", f"{scale:.3g}")
    text_height = font.getbbox("0.123")[3] + 2
    sheet = Image.new("RGB", (image.width, image.height + pad + height + text_height + pad), (255, 255, 255))
    sheet.paste(image.convert("RGB"), (0, 0))
    bar = colorize(np.tile(np.linspace(0.0, 1.0, image.width - 2 * pad, dtype=np.float32), (height, 1)), colormap)
    top = image.height + pad
    sheet.paste(bar, (pad, top))
    draw = ImageDraw.Draw(sheet)
    for text, anchor, x in zip(labels, ("la", "ma", "ra"), (pad, image.width // 2, image.width - pad)):
        draw.text((x, top + height + 1), text, fill=(0, 0, 0), font=font, anchor=anchor)
    return sheet
