"""Input × Gradient (Shrikumar et al., 2016) from the shared pass's input gradient.

R = x ⊙ ∂y_c/∂x.
"""

from registry import Context, Plugin
from registry.methods import apply_sign, channel_sum, sign_param


class InputXGradient(Plugin):
    name = "input_x_gradient"
    title = "Input × Gradient"
    family = "gradients"
    description = (
        "Each input value times its gradient: a first-order estimate of how much that pixel contributed "
        "to the class score. Red pixels pushed the score up, blue ones down. Note the input is normalised, "
        "so a mid-grey pixel is near zero and contributes little whatever its gradient."
    )
    how_to_read = (
        "Red pixels pushed the class score up, blue ones pushed it down (white: no effect). The map mixes the "
        "pixel's value with its gradient, so strong colours and edges dominate."
    )
    pitfalls = (
        "Inputs are normalised, so a pixel near the dataset's mean colour counts for little whatever its "
        "role: dark or grey objects can look unimportant. It is a first-order estimate and can be misleading "
        "where the model saturates."
    )
    needs_target = True
    needs_gradients = True
    reads = ("input_gradient",)
    signed = True
    scale_percentile = 99.0
    params = (sign_param(),)

    def compute(self, ctx: Context):
        return apply_sign(channel_sum(ctx.x * ctx.input_gradient), ctx.params["sign"])
