"""LIME (Ribeiro et al., 2016) with captum's Lime on SLIC superpixels: a weighted linear surrogate, seeded.

φ = the weights of a ridge regression of y_c(x with the switched-off regions at the baseline) on which regions
were on, each sample weighed by its similarity to the image (captum's exponential kernel on cosine distance).
The surrogate is ridge (α = 1) as in LIME's own implementation, not captum's default lasso (α = 0.01): a lasso
sets every region to zero when the score changes little (an untrained model, a confident class), a blank map.
"""

from registry.methods import SuperpixelAttribution, superpixel_params

RIDGE_ALPHA = 1.0


class Lime(SuperpixelAttribution):
    name = "lime"
    title = "LIME"
    description = (
        "Cuts the image into superpixels (regions of similar colour), switches random sets of them off and fits "
        "a simple linear model that predicts the class score from which regions were on. Each region's weight in "
        "that model is its colour in the map: red regions raised the score, blue ones lowered it."
    )
    how_to_read = (
        "A map of flat regions: each superpixel's weight in a linear model fitted to the class score over random "
        "on/off patterns. Red regions raised the score, blue ones lowered it; the brightest are what the model "
        "needed most, as far as a linear model can tell."
    )
    pitfalls = (
        "It is a sampled estimate: with few samples, or many superpixels, the weights are noisy (change the seed "
        "to see how much). The regions come from colour, not from the model, so an object split across regions "
        "shares its weight among them; and the switched-off colour is itself an unusual input."
    )
    explainer = "Lime"
    quick_params = {"superpixels": 10, "samples": 16}  # the contract suite's settings: the same code, fewer passes
    params = superpixel_params(samples=64, batch=8)

    def options(self):
        from captum._utils.models.linear_model import SkLearnRidge  # lazy: with captum

        return {"interpretable_model": SkLearnRidge(alpha=RIDGE_ALPHA)}
