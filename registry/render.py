"""The one place that turns numbers into pictures: heatmaps, overlays, tiles and grids."""

from __future__ import annotations

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

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
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.NEAREST)


def grid(tiles: list[Image.Image], captions: list[str], columns: int | None = None, gap: int = 4) -> Image.Image:
    """Lay tiles out in rows with a caption stamped in each tile's corner."""
    if not tiles:
        raise ValueError("grid() needs at least one tile")
    columns = columns or int(np.ceil(np.sqrt(len(tiles))))
    rows = int(np.ceil(len(tiles) / columns))
    width, height = tiles[0].size
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = _font(max(10, height // 9))
    for index, (image, caption) in enumerate(zip(tiles, captions)):
        x = gap + (index % columns) * (width + gap)
        y = gap + (index // columns) * (height + gap)
        sheet.paste(image, (x, y))
        box = draw.textbbox((x + 3, y + 2), caption, font=font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((x + 3, y + 2), caption, fill=(255, 255, 255), font=font)
    return sheet


def stamp(image: Image.Image, text: str) -> Image.Image:
    """Write a warning band across the top of an image (used for untrained weights)."""
    marked = image.convert("RGB").copy()
    draw = ImageDraw.Draw(marked)
    font = _font(max(10, marked.height // 16))
    box = draw.textbbox((0, 0), text, font=font)
    band = box[3] - box[1] + 8
    draw.rectangle((0, 0, marked.width, band), fill=(190, 0, 0))
    draw.text(((marked.width - (box[2] - box[0])) // 2, 3), text, fill=(255, 255, 255), font=font)
    return marked


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)
