"""Shapley value sampling (Castro et al., 2009; Štrumbelj and Kononenko, 2010) with captum's ShapleyValueSampling
on SLIC superpixels, seeded.

φ_s = the mean over random orders of the regions of y_c(regions up to and including s on) − y_c(those before s
on), the others at the baseline: an unbiased estimate of each region's Shapley value.
"""

from registry.methods import SuperpixelAttribution, superpixel_params


class ShapleySampling(SuperpixelAttribution):
    name = "shapley_sampling"
    title = "Shapley value sampling"
    description = (
        "Cuts the image into superpixels (regions of similar colour) and switches them on one by one in a random "
        "order, from the baseline to the full image, noting how much each region adds to the class score; "
        "averaged over a few orders, that is each region's Shapley value. Red raised the score, blue lowered it."
    )
    how_to_read = (
        "A map of flat regions: each superpixel's estimated Shapley value, what it adds to the class score on "
        "average over random orders. Red raised the score, blue lowered it; each order's values add up exactly to "
        "the score of the image minus that of the baseline."
    )
    pitfalls = (
        "Each order costs one pass per superpixel, so only a few orders fit in a CPU's time: the estimate is noisy "
        "(change the seed to see how much). A switched-off region is an unusual input, not the object's absence, "
        "and the regions come from colour, not from the model."
    )
    explainer = "ShapleyValueSampling"
    quick_params = {"superpixels": 10, "samples": 1}  # the contract suite's settings: the same code, fewer passes
    params = superpixel_params(samples=2, batch=8)

    def batches(self, features: int, samples: int, batch: int) -> int:
        return samples * -(-features // batch) + 1  # + the baseline's score
