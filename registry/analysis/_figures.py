"""Figures of the analyses: the comparison grid, the deletion / insertion curves, and the randomization strip.

They read a result (a Comparison, a FaithfulnessScore, a SanityCheck) and draw with registry.imaging.render,
which knows nothing of them. matplotlib's object API is used without pyplot, so figures can be drawn from
several threads.
"""

from __future__ import annotations

import textwrap
from collections import Counter

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from registry.imaging import render

__all__ = [
    "FIGURE_CAPTION",
    "FIGURE_COLUMNS",
    "FIGURE_HEADER",
    "FIGURE_LABEL_WIDTH",
    "FIGURE_MARGIN",
    "FIGURE_SCALE",
    "FIGURE_TILE",
    "comparison_figure",
    "faithfulness_figure",
    "sanity_strip",
]

MAP_COLOUR, RANDOM_COLOUR, INVERSE_COLOUR = "#1f5fbf", "#7f7f7f", "#d95f02"
FIGURE_TILE = 224
FIGURE_LABEL_WIDTH = 250
FIGURE_HEADER = 34
FIGURE_CAPTION = 18
FIGURE_COLUMNS = 4  # methods side by side before the grid wraps into another band
FIGURE_MARGIN = 36  # white above the grid: a viewer's label and buttons sit there, not over the titles
FIGURE_SCALE = 40  # under each map's caption: its colour bar, or where the bar it shares is (heatmaps only)


def comparison_figure(comparison) -> Image.Image:
    """The grid of a `registry.compare` result as one labelled picture for a paper or a slide.

    Rows are backbone / class / layer (with the backbone's top-1 prediction), columns are methods;
    a method that ignores the row's class or layer is drawn once, in the first row it applies to. Each heatmap has
    its colour bar in raw units under it; maps of a column on one scale (the classes of one backbone and layer,
    Compare's common scale) share one bar, drawn under the lowest of them, and the others say so. More than
    FIGURE_COLUMNS methods wrap into bands below each other (each with its row labels), so every map keeps its
    224 px however many methods there are; a margin on top keeps the titles clear of a viewer's buttons.
    """
    columns, rows, tile = comparison.plugins, comparison.rows, FIGURE_TILE
    bands = [columns[start : start + FIGURE_COLUMNS] for start in range(0, len(columns), FIGURE_COLUMNS)]
    shared = _scale_groups(comparison)
    cell_height = tile + FIGURE_CAPTION + (FIGURE_SCALE if shared else 0)
    band_height = FIGURE_HEADER + len(rows) * (cell_height + 4) + 4
    width = FIGURE_LABEL_WIDTH + min(len(columns), FIGURE_COLUMNS) * (tile + 4) + 4
    sheet = Image.new("RGB", (width, FIGURE_MARGIN + len(bands) * band_height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    header, text = render.load_font(16), render.load_font(13)
    drawn: set[str] = set()
    for band, methods in enumerate(bands):
        top = FIGURE_MARGIN + band * band_height
        for column, plugin in enumerate(methods):
            x = FIGURE_LABEL_WIDTH + 4 + column * (tile + 4)
            draw.text((x + tile // 2, top + FIGURE_HEADER // 2), plugin.title, fill=(0, 0, 0), font=header, anchor="mm")
        for index, row in enumerate(rows):
            y = top + FIGURE_HEADER + 4 + index * (cell_height + 4)
            label = _fitted(_row_label(row, comparison), text, FIGURE_LABEL_WIDTH - 8)
            draw.multiline_text((6, y + 4), label, fill=(0, 0, 0), font=text, spacing=4)
            for column, plugin in enumerate(methods):
                x = FIGURE_LABEL_WIDTH + 4 + column * (tile + 4)
                cell = comparison.cell(row.backbone, plugin.name, row.target, row.layer)
                _draw_cell(sheet, draw, cell, (x, y), drawn, shared.get(cell.key))
    return sheet


def _draw_cell(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    cell,
    corner: tuple[int, int],
    drawn: set[str],
    scale: tuple[int, bool, str] | None = None,
) -> None:
    """One cell of the grid: its map with layer and time under it (and its colour scale: see `_scale_groups`),
    its error, or "same as above"."""
    tile, (x, y) = FIGURE_TILE, corner
    text, small = render.load_font(13), render.load_font(11)
    if cell.key in drawn:
        note = "same as above\n(this method ignores\nthe class or layer)"
        render.note_tile(draw, (x, y), tile, note, (245, 245, 245), (120, 120, 120), text)
        return
    drawn.add(cell.key)
    if cell.result is None:
        render.note_tile(
            draw, (x, y), tile, _wrap(cell.error or "not computed", 30), (255, 236, 236), (150, 0, 0), small
        )
        return
    sheet.paste(render.fit(cell.result.images[0], tile), (x, y))
    layer = f"{cell.result.layer.name} · {cell.result.layer.depth_name} · " if cell.result.layer else ""
    draw.text((x + 2, y + tile + 3), f"{layer}{cell.seconds * 1000:.0f} ms", fill=(80, 80, 80), font=small)
    if scale is None:
        return
    count, last, layer = scale
    top = y + tile + FIGURE_CAPTION
    if not last:
        where = f"the {layer} bar below" if layer else "the shared bar below"
        draw.text((x + 2, top + 4), f"colour scale: {where}", fill=(80, 80, 80), font=small)
        return
    others = "" if count == 1 else f"one scale: this and the {count - 1} above" + (f", {layer}" if layer else "")
    result = cell.result
    sheet.paste(render.colorbar(tile, result.colormap, result.scale, result.signed, others), (x, top))


def _scale_groups(comparison) -> dict[str, tuple[int, bool, str]]:
    """cell key → (how many maps of its column share its colour scale, whether it is the lowest of them, the layer
    that tells its bar from another in the column or ""): the bar is drawn once, under the lowest. Maps share a
    scale when they are one method's, on one backbone and layer, with the same colours and top value (Compare's
    common scale across classes; with it off, each map has its own)."""
    groups: dict[tuple, list[str]] = {}
    seen: set[str] = set()
    for plugin in comparison.plugins:
        for row in comparison.rows:
            cell = comparison.cell(row.backbone, plugin.name, row.target, row.layer)
            result = cell.result
            if cell.key in seen or result is None or not result.scale or result.colormap is None:
                continue
            seen.add(cell.key)
            layer = result.layer.name if result.layer else ""
            key = (cell.backbone, cell.plugin, layer, result.colormap, result.signed, result.scale)
            groups.setdefault(key, []).append(cell.key)
    layers = Counter((backbone, plugin) for backbone, plugin, *_ in groups)  # several: each bar names its layer
    return {
        key: (len(keys), key == keys[-1], _fit_text(group[2], 16) if layers[group[:2]] > 1 else "")
        for group, keys in groups.items()
        for key in keys
    }


def _row_label(row, comparison) -> str:
    lines = [row.backbone]
    if row.error:
        return row.backbone + "\n" + _wrap(row.error, 34)
    if row.prediction is not None:
        index, label, probability = row.prediction
        lines.append(f"top-1: {_short(label)} ({probability:.2f})")
        lines.append(f"one pass: {comparison.pass_seconds.get(row.backbone, 0.0) * 1000:.0f} ms")
    if any(plugin.needs_target for plugin in comparison.plugins):
        if row.target is None:
            lines.append("class: its own top-1")
        else:
            probability = _class_probability(comparison, row)
            lines.append(
                f"class: {row.target} {_short(_label(comparison, row))}"
                + (f" ({probability:.2f})" if probability is not None else "")
            )
    if any(plugin.needs_layer for plugin in comparison.plugins):
        depth = next(
            (
                cell.result.layer.depth_name
                for cell in comparison.cells
                if cell.backbone == row.backbone
                and cell.layer == row.layer
                and cell.result is not None
                and cell.result.layer
            ),
            None,
        )
        named = row.layer is not None and row.layer != depth
        own = "each method's default"
        lines.append(f"layer: {row.layer or own}" + (f" ({depth})" if named and depth else ""))
    return "\n".join(lines)


def _fitted(label: str, font, width: int) -> str:
    """The row label broken into lines no wider than `width` pixels, so it never runs over the first map (a model of
    one's own is named "tf_efficientnet_lite0 (three.safetensors)"); a word longer than a line is cut with "…"."""
    lines = []
    for line in label.split("\n"):
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        while font.getlength(current) > width and len(current) > 1:
            current = current[:-2] + "…"
        lines.append(current)
    return "\n".join(lines)


def _label(comparison, row) -> str:
    for cell in comparison.cells:
        if (
            cell.backbone == row.backbone
            and cell.target == row.target
            and cell.result is not None
            and cell.result.label
        ):
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


def faithfulness_figure(score) -> Image.Image:
    """Two panels (deletion, insertion): the map's curve, the random maps' mean ± spread, the inverse map."""
    figure = Figure(figsize=(8.4, 3.4), dpi=100)
    FigureCanvasAgg(figure)
    fractions = score.fractions
    panels = (
        ("deletion", "Deletion: most important pixels removed first", "lower area is better"),
        ("insertion", f"Insertion: revealed onto a {score.baseline} image", "higher area is better"),
    )
    for index, (mode, title, better) in enumerate(panels):
        axes = figure.add_subplot(1, 2, index + 1)
        random = np.atleast_2d(score.curves[f"random_{mode}"])
        mean, spread = random.mean(axis=0), random.std(axis=0)
        axes.fill_between(fractions, mean - spread, mean + spread, color=RANDOM_COLOUR, alpha=0.25, linewidth=0)
        axes.plot(
            fractions,
            mean,
            color=RANDOM_COLOUR,
            linewidth=1.5,
            label=f"random map  AUC {score.auc(f'random_{mode}'):.3f} ± {score.spread(f'random_{mode}'):.3f}",
        )
        if f"inverse_{mode}" in score.curves:
            axes.plot(
                fractions,
                score.curves[f"inverse_{mode}"],
                color=INVERSE_COLOUR,
                linewidth=1.5,
                linestyle="--",
                label=f"inverse map AUC {score.auc(f'inverse_{mode}'):.3f}",
            )
        axes.plot(
            fractions,
            score.curves[mode],
            color=MAP_COLOUR,
            linewidth=2.2,
            label=f"this map    AUC {score.auc(mode):.3f}",
        )
        axes.set_title(title, fontsize=9.5)
        axes.set_xlabel(
            f"fraction of pixels {'removed' if mode == 'deletion' else 'revealed'} ({better})", fontsize=8.5
        )
        axes.set_ylabel(f"p({_first_name(score.label)})", fontsize=8.5)
        axes.set_xlim(0, 1)
        highest = max(float(values.max()) for key, values in score.curves.items() if key.endswith(mode))
        axes.set_ylim(0, max(1e-3, highest) * 1.05)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
        axes.legend(
            fontsize=7.5,
            loc="upper right" if mode == "deletion" else "lower right",
            prop={"family": "monospace", "size": 7},
        )
    figure.suptitle(
        f"{score.plugin} on {score.backbone}, class {score.target} ({_first_name(score.label)}), {score.steps} steps",
        fontsize=10,
    )
    figure.tight_layout()
    return _to_image(figure)


def sanity_strip(check, tile: int = 160) -> Image.Image:
    """The map after each randomization step, left to right, captioned with its similarity to the original."""
    caption_height, gap, header = 46, 4, 26
    count = len(check.steps)
    sheet = Image.new("RGB", (gap + count * (tile + gap), header + tile + caption_height + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    title = (
        f"{check.plugin} on {check.backbone}, class {check.target} ({_first_name(check.label)}): "
        "weights re-initialised from the top down, cumulatively"
    )
    draw.text((gap, 6), title, fill=(0, 0, 0), font=render.load_font(13))
    small = render.load_font(11)
    for index, step in enumerate(check.steps):
        x = gap + index * (tile + gap)
        sheet.paste(step.image.convert("RGB").resize((tile, tile), Image.Resampling.BILINEAR), (x, header))
        rho = "—" if np.isnan(step.rank_correlation) else f"{step.rank_correlation:.2f}"
        lines = [_fit_text(step.randomized, 27), f"rank corr {rho}", f"SSIM {step.ssim:.2f}"]
        draw.multiline_text((x + 2, header + tile + 3), "\n".join(lines), fill=(40, 40, 40), font=small, spacing=2)
    return sheet


def _to_image(figure: Figure) -> Image.Image:
    figure.canvas.draw()
    return Image.fromarray(np.asarray(figure.canvas.buffer_rgba())[..., :3].copy())


def _first_name(label: str) -> str:
    return label.split(",")[0].strip()


def _fit_text(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
