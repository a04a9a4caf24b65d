"""Feature ablation with captum's FeatureAblation on SLIC superpixels: occlusion by regions instead of squares.

R_s = y_c(x) − y_c(x with superpixel s at the baseline), the same for every pixel of s.
"""

from registry.methods import SuperpixelAttribution, superpixel_params


class FeatureAblation(SuperpixelAttribution):
    name = "feature_ablation"
    title = "Feature ablation (superpixels)"
    description = (
        "Cuts the image into superpixels (regions of similar colour) and switches them off one at a time, "
        "watching the class score: like occlusion, with regions that follow the image's edges instead of "
        "squares. Red regions were evidence (the score fell without them), blue ones counted against the class."
    )
    how_to_read = (
        "A map of flat regions: how much the class score fell when that superpixel alone was replaced by the "
        "baseline. Red regions were evidence; blue ones raised the score when removed. One pass per region."
    )
    pitfalls = (
        "Each region is removed alone: an object that spans several regions, or appears twice, survives the "
        "removal of one part, so no part looks important. The switched-off colour is itself an unusual input, "
        "and the regions come from colour, not from the model."
    )
    explainer = "FeatureAblation"
    sampled = False
    reads = ("logits",)  # captum's score of the unaltered image is the shared pass's: one forward pass fewer
    quick_params = {"superpixels": 10}  # the contract suite's settings: the same code, fewer passes
    params = superpixel_params(samples=None, batch=8)

    def batches(self, features: int, samples: int, batch: int) -> int:
        return -(-features // batch)
