"""Occlusion (Zeiler and Fergus, 2014) with captum, masked windows batched through perturbations_per_eval.

R_ij = mean over the windows covering (i, j) of y_c(x) − y_c(x with the window set to 0), summed over colour channels.
"""

from registry import Context, Param, Plugin
from registry.methods import apply_sign, batch_param, channel_sum, sign_param


class Occlusion(Plugin):
    name = "occlusion"
    title = "Occlusion"
    family = "perturbation"
    description = (
        "Covers one square of the image at a time with the average colour and watches the class score. "
        "Where covering hurts the score the map is red: that region was evidence (shown by default; choose "
        "'all' to also see in blue where covering helped). No gradients, only one forward pass per window "
        "position: larger windows and strides are faster but coarser."
    )
    how_to_read = (
        "Red regions are those whose covering lowered the class score: evidence the model relied on. The map "
        "is made of window-sized blocks; smaller windows and strides give finer maps."
    )
    pitfalls = (
        "The covering square is an unnatural input: the score can drop because of the square itself. Windows "
        "smaller than the object find only parts; an object present twice survives covering one copy, so "
        "neither looks important."
    )
    needs_target = True
    cost = "heavy"
    signed = True
    scale_percentile = 99.0
    quick_params = {"window": 64, "stride": 64}  # the contract suite's settings: the same code, fewer passes
    params = (
        Param(
            "window",
            "int",
            48,
            label="Window (pixels)",
            minimum=4,
            maximum=224,
            step=4,
            help="Side of the square that is covered.",
        ),
        Param(
            "stride",
            "int",
            24,
            label="Stride (pixels)",
            minimum=2,
            maximum=224,
            step=2,
            help="How far the square moves each time; smaller is finer and slower.",
        ),
        batch_param(
            4,
            64,
            "How many covered copies of the image go through the model at once (captum's "
            "perturbations_per_eval): more is faster on a GPU but needs more memory; 4 suits a small CPU.",
            label="Occlusions per batch",
        ),
        sign_param("positive"),
    )

    reads = ("logits",)  # captum's reference score is the shared pass's: one forward pass fewer

    def compute(self, ctx: Context):
        from captum.attr import Occlusion as CaptumOcclusion  # lazy: captum adds ~1 s to start-up

        height, width = ctx.x.shape[-2:]
        window = min(ctx.params["window"], height, width)
        stride = min(ctx.params["stride"], window)
        batches = -(-window_count(height, width, window, stride) // ctx.params["batch_size"])
        attribution = CaptumOcclusion(ctx.counted(batches)).attribute(
            ctx.x,
            sliding_window_shapes=(ctx.x.shape[1], window, window),
            strides=(ctx.x.shape[1], stride, stride),
            baselines=0.0,
            target=ctx.target,
            perturbations_per_eval=ctx.params["batch_size"],
        )
        return apply_sign(channel_sum(attribution), ctx.params["sign"])


def window_count(height: int, width: int, window: int, stride: int) -> int:
    """Window positions as captum places them: the last one may hang over the edge, so round up."""
    return (-(-(height - window) // stride) + 1) * (-(-(width - window) // stride) + 1)
