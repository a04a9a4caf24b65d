"""Pictures of the trust checks: the deletion / insertion curves, and the randomization strip.

Kept apart from registry/render.py (maps and overlays) because these are plots of scores.
matplotlib's object API is used without pyplot, so figures can be drawn from several threads.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from registry import render

MAP_COLOUR, RANDOM_COLOUR, INVERSE_COLOUR = "#1f5fbf", "#7f7f7f", "#d95f02"


def faithfulness_figure(score) -> Image.Image:
    """Two panels (deletion, insertion): the map's curve, the random maps' mean ± spread, the inverse map."""
    figure = Figure(figsize=(8.4, 3.4), dpi=100)
    FigureCanvasAgg(figure)
    fractions = score.fractions
    panels = (("deletion", "Deletion: most important pixels removed first", "lower area is better"),
              ("insertion", f"Insertion: revealed onto a {score.baseline} image", "higher area is better"))
    for index, (mode, title, better) in enumerate(panels):
        axes = figure.add_subplot(1, 2, index + 1)
        random = np.atleast_2d(score.curves[f"random_{mode}"])
        mean, spread = random.mean(axis=0), random.std(axis=0)
        axes.fill_between(fractions, mean - spread, mean + spread, color=RANDOM_COLOUR, alpha=0.25, linewidth=0)
        axes.plot(fractions, mean, color=RANDOM_COLOUR, linewidth=1.5,
                  label=f"random map  AUC {score.auc(f'random_{mode}'):.3f} ± {score.spread(f'random_{mode}'):.3f}")
        if f"inverse_{mode}" in score.curves:
            axes.plot(fractions, score.curves[f"inverse_{mode}"], color=INVERSE_COLOUR, linewidth=1.5, linestyle="--",
                      label=f"inverse map AUC {score.auc(f'inverse_{mode}'):.3f}")
        axes.plot(fractions, score.curves[mode], color=MAP_COLOUR, linewidth=2.2, label=f"this map    AUC {score.auc(mode):.3f}")
        axes.set_title(title, fontsize=9.5)
        axes.set_xlabel(f"fraction of pixels {'removed' if mode == 'deletion' else 'revealed'} ({better})", fontsize=8.5)
        axes.set_ylabel(f"p({_short(score.label)})", fontsize=8.5)
        axes.set_xlim(0, 1)
        highest = max(float(values.max()) for key, values in score.curves.items() if key.endswith(mode))
        axes.set_ylim(0, max(1e-3, highest) * 1.05)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7.5, loc="upper right" if mode == "deletion" else "lower right", prop={"family": "monospace", "size": 7})
    figure.suptitle(f"{score.plugin} on {score.backbone}, class {score.target} ({_short(score.label)}), {score.steps} steps",
                    fontsize=10)
    figure.tight_layout()
    return _to_image(figure)


def sanity_strip(check, tile: int = 160) -> Image.Image:
    """The map after each randomization step, left to right, captioned with its similarity to the original."""
    caption_height, gap, header = 46, 4, 26
    count = len(check.steps)
    sheet = Image.new("RGB", (gap + count * (tile + gap), header + tile + caption_height + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    title = (f"{check.plugin} on {check.backbone}, class {check.target} ({_short(check.label)}): "
             "weights re-initialised from the top down, cumulatively")
    draw.text((gap, 6), title, fill=(0, 0, 0), font=render._font(13))
    small = render._font(11)
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


def _short(label: str) -> str:
    return label.split(",")[0].strip()


def _fit_text(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
