"""Kernel SHAP (Lundberg and Lee, 2017) with captum's KernelShap on SLIC superpixels, seeded.

φ = the weights of a linear regression of y_c(x with the switched-off regions at the baseline) on which regions
were on, the on/off patterns drawn by the Shapley kernel: with enough samples, each region's Shapley value.
"""

from registry.methods import SuperpixelAttribution, superpixel_params


class KernelShap(SuperpixelAttribution):
    name = "kernel_shap"
    title = "Kernel SHAP"
    description = (
        "Cuts the image into superpixels (regions of similar colour), switches random sets of them off and fits "
        "a linear model to the class score, with the sets drawn so that each region's weight estimates its "
        "Shapley value: its fair share of the score. Red regions raised the score, blue ones lowered it."
    )
    how_to_read = (
        "A map of flat regions: each superpixel's estimated Shapley value, its average contribution to the class "
        "score over the sets of other regions it can join. Red raised the score, blue lowered it; the values add "
        "up to the score of the image minus that of the baseline."
    )
    pitfalls = (
        "It is a sampled estimate: with fewer samples than superpixels the regression is underdetermined and the "
        "weights are noisy (change the seed to see how much). Shapley values assume the regions can be switched "
        "off independently; a switched-off region is an unusual input, not the object's absence."
    )
    explainer = "KernelShap"
    quick_params = {"superpixels": 10, "samples": 16}  # the contract suite's settings: the same code, fewer passes
    params = superpixel_params(samples=64, batch=8)
