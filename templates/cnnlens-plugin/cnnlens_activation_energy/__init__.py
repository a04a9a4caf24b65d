"""Activation energy: where a layer responds, whatever the class. A template CNN Lens plugin."""

from registry import Context, Param, Plugin


class ActivationEnergy(Plugin):
    name = "activation_energy"  # its name in the API: /explain with method="activation_energy"
    title = "Activation energy"
    description = (
        "Where does a layer respond at all? Each place's activations are squared and summed over the "
        "channels, so bright regions are where the layer found many of its patterns, whatever the class."
    )
    api_version = "1.5"  # the plugin API this was written for (registry.API_VERSION)
    family = "representations"  # the app shows it in that tab, beside Feature maps
    needs_layer = True  # the app offers a layer dropdown; default_depth picks "auto"
    default_depth = "middle"
    reads = ("activations",)  # from the shared pass: no extra forward pass of its own
    cost = "light"
    output = "heatmap"
    params = (
        Param(
            "power",
            "float",
            2.0,
            label="Power",
            minimum=1.0,
            maximum=4.0,
            step=0.5,
            help="2 is the energy; higher powers favour the strongest channels.",
        ),
    )

    def compute(self, ctx: Context):
        return ctx.activations[0].abs().pow(ctx.params["power"]).sum(dim=0)
