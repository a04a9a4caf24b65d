"""Layer-wise Relevance Propagation (Bach et al., 2015) with captum's epsilon rule; refused off a plain chain.

R_i = Σ_j x_i w_ij / (z_j + ε sign z_j) · R_j, layer by layer from R = y_c at the output down to the pixels.
"""

from registry import Context
from registry.methods import RuleAttribution, identity_rules, lrp_problem


class Lrp(RuleAttribution):
    name = "lrp"
    title = "LRP"
    description = (
        "Layer-wise Relevance Propagation hands the class score back layer by layer: each neuron passes its "
        "relevance to its inputs in proportion to what each contributed (the epsilon rule), down to the pixels. "
        "captum's rules cover plain chains of convolutions, linear layers and ReLUs (VGG-like networks); a network "
        "with skip connections, SiLU or upsampling is refused in words."
    )
    how_to_read = (
        "Red pixels carry relevance for the class, blue ones against it; the values roughly add up to the class "
        "score (biases absorb some of it)."
    )
    pitfalls = (
        "The epsilon rule on every layer gives noisy maps on deep networks (the composite rules of the LRP "
        "literature are not captum's default). Relevance is only conserved where the network is a chain, which is "
        "why other shapes are refused rather than shown."
    )
    cost = "light"

    problem = staticmethod(lrp_problem)

    def attribute(self, ctx: Context):
        from captum.attr import LRP  # lazy: captum adds ~1 s to start-up

        with identity_rules(ctx.model):
            return LRP(ctx.model).attribute(ctx.x, target=ctx.target)
