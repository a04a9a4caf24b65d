"""DeepDream (Mordvintsev, Olah & Tyka 2015): amplify what a layer, one of its channels or a class sees in the image.

x ← x + strength · g / mean|g|, g = ∇_x objective(x shifted at random), octave by octave up an image pyramid.
"""

from PIL import Image

from registry import Context, Param
from registry.analysis import AMPLIFY, CreatePlugin, DreamSettings, check_create_size, dream, dream_value
from registry.methods import seed_param


class DeepDream(CreatePlugin):
    name = "deep_dream"
    title = "DeepDream"
    description = (
        "Amplify what the network sees in your image: the picture is changed, step by step, so that a layer fires "
        "harder (or one channel, or one class), at several scales. An early layer paints strokes and colours, a "
        "middle one textures and parts, a late one eyes, fur and whole animals."
    )
    how_to_read = (
        "The dream is your image with whatever the chosen layer already half-sees made stronger. Compare an early, "
        "a middle and a late layer on the same image: the size and meaning of what appears grows with depth."
    )
    pitfalls = (
        "A dream shows what raises a layer, not what the network 'thinks': the same patterns appear on any image. "
        "Strong settings replace your picture altogether; the note says how much the layer's activation rose."
    )
    needs_layer = True
    needs_target = True
    default_depth = "middle"
    params = (
        Param(
            "amplify",
            "choice",
            "layer",
            label="Amplify",
            choices=AMPLIFY,
            help="layer: every channel of the layer; channel: the one below; class: the chosen class's score.",
        ),
        Param("channel", "int", 0, label="Channel (for amplify = channel)", minimum=0, maximum=8191, step=1),
        Param("octaves", "int", 4, label="Octaves (scales)", minimum=1, maximum=8, step=1),
        Param("steps", "int", 10, label="Steps per octave", minimum=1, maximum=64, step=1),
        Param(
            "strength",
            "float",
            0.01,
            label="Strength",
            minimum=0.001,
            maximum=0.1,
            step=0.001,
            help="Each step's size as a fraction of the pixel range: more dreams harder and loses more of the image.",
        ),
        CreatePlugin.size_param(),
        seed_param(),
    )

    quick_params = {"octaves": 1, "steps": 2, "size": 64}

    def compute(self, ctx: Context):
        values = ctx.params
        check_create_size(values["size"])
        settings = DreamSettings(
            octaves=values["octaves"],
            steps=values["steps"],
            strength=values["strength"],
            size=values["size"],
            amplify=values["amplify"],
            channel=values["channel"],
            target=ctx.target if ctx.target is not None else 0,
            seed=values["seed"],
        )
        picture = dream(
            ctx.backbone, ctx.layer, ctx.view, settings, step=lambda d, t: ctx.step(d, t, octave(settings, d))
        )
        dreamed = Image.fromarray(picture)
        before, after = (dream_value(ctx.backbone, ctx.layer, image, settings) for image in (ctx.view, dreamed))
        what = {
            "layer": f"{ctx.layer}'s mean positive activation",
            "channel": f"channel #{settings.channel} of {ctx.layer}",
            "class": f"the logit of class {settings.target}: {ctx.backbone.labels[settings.target]}",
        }[settings.amplify]
        ctx.notes.append(
            f"{what[0].upper() + what[1:]} went from {before:.3g} on your image to {after:.3g} on the dream "
            f"({after / before:.1f}×)."
            if before > 0
            else f"{what[0].upper() + what[1:]} rose to {after:.3g} on the dream."
        )
        ctx.notes.append(
            f"{settings.octaves} octaves × {settings.steps} steps (ratio {settings.ratio}), strength "
            f"{settings.strength}, random shifts up to {settings.jitter} pixels, seed {settings.seed}; dreams are "
            "cached by model, weights, layer, image and these settings."
        )
        return [
            (dreamed, f"DeepDream of {ctx.layer} ({settings.amplify})"),
            (ctx.view, "your image"),
        ]


def octave(settings: DreamSettings, done: int) -> str:
    """The progress text after `done` steps: which octave of the pyramid, at what size (Gradio shows a progress bar
    and its text, not the picture so far)."""
    level = min((done - 1) // settings.steps + 1, settings.octaves) if done > 0 else 1
    side = max(16, round(settings.size / settings.ratio ** (settings.octaves - level)))
    total = settings.octaves * settings.steps
    return f"DeepDream: octave {level} of {settings.octaves} ({side} px), step {done} of {total}"
