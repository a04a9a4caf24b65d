"""Neural style transfer (Gatys, Ecker & Bethge 2016): your image's content in another image's textures.

min_x  w_c·‖F_c(x) − F_c(content)‖² + w_s·Σ_l ‖G_l(x) − G_l(style)‖²,  G_l = F_l F_lᵀ / (C·h·w), l the style stages.
"""

import numpy as np
from PIL import Image

from registry import Context, Param
from registry.analysis import (
    OPTIMIZERS,
    STYLE_FROM,
    CreatePlugin,
    StyleResult,
    StyleSettings,
    check_create_size,
    ssim,
    transfer_style,
)
from registry.methods import seed_param

COMPARE = "compare early and late"  # the lesson: style from the early stages only beside the late stages only
STYLES = ("starry-night", "ihc", "retina")  # bundled pictures with licences (examples/SOURCES.md)
STYLE = Param(
    "style",
    "image",
    "starry-night",
    label="Style image",
    choices=STYLES,
    help="Upload a picture whose textures to paint with, or leave it empty for The Starry Night (bundled).",
)


class StyleTransfer(CreatePlugin):
    name = "style_transfer"
    title = "Style transfer"
    description = (
        "Paint your image in the textures of another (Gatys et al. 2016): the picture is optimised so that its "
        "deep layer still holds your image's objects (the content), while the early and middle layers' channel "
        "correlations (Gram matrices: which textures occur together, wherever they are) match the style image's."
    )
    how_to_read = (
        "The first picture is the result; your image and the style follow. The note names the layers that carried "
        "the style and how far each loss fell. Choose 'compare early and late' to see the lesson: style from the "
        "early stages alone brings colours and fine texture, from the late stages larger motifs."
    )
    pitfalls = (
        "A Gram matrix forgets where things are, so style layers carry texture, not layout; the content layer keeps "
        "the layout. A backbone trained on photographs (like the default) is not VGG: its strokes are subtler."
    )
    params = (
        STYLE,
        Param("style_from", "choice", STYLE_FROM[0], label="Style from", choices=(*STYLE_FROM, COMPARE)),
        Param("steps", "int", 100, label="Optimisation steps", minimum=1, maximum=1000, step=1),
        Param("content_weight", "float", 1.0, label="Content weight", minimum=0.0, maximum=100.0, step=0.1),
        Param(
            "style_weight",
            "int",
            6,
            label="Style weight (power of ten)",
            minimum=0,
            maximum=10,
            step=1,
            help="The style loss is weighed by 10 to this power (the PyTorch tutorial's 6: a million).",
        ),
        Param(
            "optimizer",
            "choice",
            "lbfgs",
            label="Optimiser",
            choices=OPTIMIZERS,
            help="L-BFGS (the tutorial's) reached a lower loss than Adam in the same time on a CPU "
            "(benchmarks/RESULTS.md); Adam's steps are steadier at the start.",
        ),
        CreatePlugin.size_param(),
        seed_param(),
    )

    quick_params = {"steps": 2, "size": 64}

    def compute(self, ctx: Context):
        values = ctx.params
        check_create_size(values["size"])
        style = STYLE.picture(values["style"])
        chosen = STYLE_FROM[1:] if values["style_from"] == COMPARE else (values["style_from"],)
        total = len(chosen) * values["steps"]
        made: list[StyleResult] = []
        for index, style_from in enumerate(chosen):
            settings = StyleSettings(
                steps=values["steps"],
                size=values["size"],
                content_weight=values["content_weight"],
                style_weight=10.0 ** values["style_weight"],
                optimizer=values["optimizer"],
                style_from=style_from,
                seed=values["seed"],
            )
            offset = index * values["steps"]
            made.append(
                transfer_style(
                    ctx.backbone, ctx.view, style, settings, step=lambda d, _t, o=offset: ctx.step(o + d, total)
                )
            )
            ctx.notes.append(describe(style_from, made[-1], settings))
        pictures = [
            (Image.fromarray(m.picture), f"style from {c} stages ({', '.join(m.style_layers)})")
            for m, c in zip(made, chosen)
        ]
        if len(made) == 2:
            ctx.notes.append(lesson(ctx.view, style, made))
        label = "the bundled " + values["style"] if isinstance(values["style"], str) else "your style image"
        shown = style.copy()
        shown.thumbnail((max(ctx.view.size), max(ctx.view.size)))  # the style at the content's scale, not 4000 px
        return [*pictures, (ctx.view, "content: your image"), (shown, f"style: {label}")]


def describe(style_from: str, made: StyleResult, settings: StyleSettings) -> str:
    """Which layers carried the style, and how far each loss fell."""
    falls = ", ".join(f"{name} {_fall(made.style_start[name], made.style_end[name])}" for name in made.style_layers)
    return (
        f"Style from {style_from} stages: the Gram distance to the style fell {made.style_fall:.0%} over "
        f"{', '.join(made.style_layers)} ({falls}); the content distance at {made.content_layer} went from "
        f"{made.content_start:.3g} to {made.content_end:.3g} (squared difference over the maps' mean square). "
        f"{settings.steps} {'L-BFGS' if settings.optimizer == 'lbfgs' else 'Adam'} "
        f"step{'s' if settings.steps != 1 else ''} at "
        f"{settings.size} pixels in {made.seconds:.1f} s, loss {made.losses[0]:.3g} → {made.losses[-1]:.3g}."
    )


def _fall(start: float, end: float) -> str:
    if start <= 0:
        return "0"
    return f"−{1 - end / start:.0%}" if end <= start else f"+{end / start - 1:.0%}"


def colour_gap(picture: np.ndarray, style: Image.Image) -> float:
    """How far a picture's colours are from the style's: the mean difference of per-channel means and spreads
    (pixels in [0, 1])."""
    a = picture.reshape(-1, 3) / 255.0
    b = np.asarray(style.convert("RGB"), dtype=np.float64).reshape(-1, 3) / 255.0
    return float(np.abs(a.mean(0) - b.mean(0)).mean() + np.abs(a.std(0) - b.std(0)).mean())


def structure_kept(picture: np.ndarray, content: Image.Image) -> float:
    """SSIM of the picture's grey values to the content's at the picture's size: how much of the layout stays."""
    grey = Image.fromarray(picture).convert("L")
    original = content.convert("L").resize(grey.size, Image.Resampling.BICUBIC)
    return ssim(np.asarray(grey, dtype=np.float64) / 255, np.asarray(original, dtype=np.float64) / 255)


def lesson(content: Image.Image, style: Image.Image, made: list[StyleResult]) -> str:
    """The early-only / late-only comparison in one measured sentence."""
    early, late = made
    gaps = [colour_gap(m.picture, style) for m in made]
    kept = [structure_kept(m.picture, content) for m in made]
    colours = "closer to" if gaps[0] < gaps[1] else "no closer to"
    shape = "keeps more" if kept[0] > kept[1] else "keeps less"
    return (
        f"Measured: with the style from the early stages only ({', '.join(early.style_layers)}) the colours come "
        f"{colours} the style's (colour gap {gaps[0]:.3f} against {gaps[1]:.3f} from the late stages, "
        f"{', '.join(late.style_layers)}), and the picture {shape} of your image's structure (SSIM {kept[0]:.2f} "
        f"against {kept[1]:.2f})"
        + (
            ": early layers hold colours and fine texture, late ones larger motifs that dissolve the layout."
            if gaps[0] < gaps[1] and kept[0] > kept[1]
            else "."
        )
    )
