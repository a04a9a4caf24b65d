"""The one place that turns numbers into pictures: heatmaps, overlays, tiles and grids."""

from __future__ import annotations

import textwrap

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
    """Lay tiles out in rows with a caption stamped in each tile's corner (none for an empty caption)."""
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
    font = _font(max(10, marked.height // 16))
    box = draw.textbbox((0, 0), text, font=font)
    band = box[3] - box[1] + 8
    draw.rectangle((0, 0, marked.width, band), fill=(190, 0, 0))
    draw.text(((marked.width - (box[2] - box[0])) // 2, 3), text, fill=(255, 255, 255), font=font)
    return marked


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


FIGURE_TILE = 224
FIGURE_LABEL_WIDTH = 250
FIGURE_HEADER = 34
FIGURE_CAPTION = 18


def comparison_figure(comparison) -> Image.Image:
    """The grid of a `registry.compare` result as one labelled picture for a paper or a slide.

    Rows are backbone / class / layer (with the backbone's top-1 prediction), columns are methods;
    a method that ignores the row's class or layer is drawn once, in the first row it applies to.
    """
    columns, rows, tile = comparison.plugins, comparison.rows, FIGURE_TILE
    cell_height = tile + FIGURE_CAPTION
    width = FIGURE_LABEL_WIDTH + len(columns) * (tile + 4) + 4
    height = FIGURE_HEADER + len(rows) * (cell_height + 4) + 4
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    header, text, small = _font(16), _font(13), _font(11)
    for column, plugin in enumerate(columns):
        x = FIGURE_LABEL_WIDTH + 4 + column * (tile + 4)
        draw.text((x + tile // 2, FIGURE_HEADER // 2), plugin.title, fill=(0, 0, 0), font=header, anchor="mm")
    drawn: set[str] = set()
    for index, row in enumerate(rows):
        y = FIGURE_HEADER + 4 + index * (cell_height + 4)
        draw.multiline_text((6, y + 4), _row_label(row, comparison), fill=(0, 0, 0), font=text, spacing=4)
        for column, plugin in enumerate(columns):
            x = FIGURE_LABEL_WIDTH + 4 + column * (tile + 4)
            cell = comparison.cell(row.backbone, plugin.name, row.target, row.layer)
            if cell.key in drawn:
                _note_tile(draw, (x, y), tile, "same as above\n(this method ignores\nthe class or layer)", (245, 245, 245), (120, 120, 120), text)
                continue
            drawn.add(cell.key)
            if cell.result is None:
                _note_tile(draw, (x, y), tile, _wrap(cell.error or "not computed", 30), (255, 236, 236), (150, 0, 0), small)
                continue
            sheet.paste(_fit(cell.result.images[0], tile), (x, y))
            layer = f"{cell.result.layer.name} · {cell.result.layer.depth_name} · " if cell.result.layer else ""
            draw.text((x + 2, y + tile + 3), f"{layer}{cell.seconds * 1000:.0f} ms", fill=(80, 80, 80), font=small)
    return sheet


def _row_label(row, comparison) -> str:
    lines = [row.backbone]
    if row.error:
        return row.backbone + "\n" + _wrap(row.error, 34)
    if row.prediction is not None:
        index, label, probability = row.prediction
        lines.append(f"top-1: {_short(label)} ({probability:.2f})")
        lines.append(f"shared pass: {comparison.pass_seconds.get(row.backbone, 0.0) * 1000:.0f} ms")
    if any(plugin.needs_target for plugin in comparison.plugins):
        if row.target is None:
            lines.append("class: predicted")
        else:
            probability = _class_probability(comparison, row)
            lines.append(f"class: {row.target} {_short(_label(comparison, row))}" + (f" ({probability:.2f})" if probability is not None else ""))
    if any(plugin.needs_layer for plugin in comparison.plugins):
        depth = next((cell.result.layer.depth_name for cell in comparison.cells if cell.backbone == row.backbone
                      and cell.layer == row.layer and cell.result is not None and cell.result.layer), None)
        named = row.layer is not None and row.layer != depth
        lines.append(f"layer: {row.layer or 'each method default'}" + (f" ({depth})" if named and depth else ""))
    return "\n".join(lines)


def _label(comparison, row) -> str:
    for cell in comparison.cells:
        if cell.backbone == row.backbone and cell.target == row.target and cell.result is not None and cell.result.label:
            return cell.result.label
    return ""


def _class_probability(comparison, row) -> float | None:
    for cell in comparison.cells:
        if cell.backbone == row.backbone and cell.target == row.target and cell.result is not None:
            return cell.result.probability
    return None


def _short(label: str) -> str:
    """ImageNet labels list synonyms ("tabby, tabby cat"): the first is enough on a figure."""
    first = label.split(",")[0].strip()
    return first if len(first) <= 24 else first[:23] + "…"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)[:9])


def _fit(image: Image.Image, size: int) -> Image.Image:
    """Scale to fit a size×size square, centred on white (feature-map sheets are not square)."""
    scale = size / max(image.size)
    resized = image.convert("RGB").resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                          Image.Resampling.LANCZOS)
    square = Image.new("RGB", (size, size), (255, 255, 255))
    square.paste(resized, ((size - resized.width) // 2, (size - resized.height) // 2))
    return square


def _note_tile(draw: ImageDraw.ImageDraw, corner: tuple[int, int], size: int, text: str, fill, ink, font) -> None:
    x, y = corner
    draw.rectangle((x, y, x + size - 1, y + size - 1), fill=fill)
    draw.multiline_text((x + size // 2, y + size // 2), text, fill=ink, font=font, anchor="mm", align="center", spacing=3)


def with_colorbar(image: Image.Image, colormap: str, scale: float, signed: bool = False) -> Image.Image:
    """`image` with a labelled colour bar beneath it: what the colours mean in the map's raw units."""
    height, pad = max(14, image.height // 28), 4
    font = _font(max(10, image.height // 32))
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
