"""Deconvolution (Zeiler and Fergus, 2014) on every ReLU-like activation (registry/methods/_guided.py).

R = ∂y_c/∂x with every ReLU's backward pass keeping only positive gradients, wherever its input was.
"""

from registry.methods import ReluRuleMap


class Deconvolution(ReluRuleMap):
    name = "deconvolution"
    title = "Deconvolution"
    family = "relevance"
    description = (
        "The class score's gradient passed back with one rule at every ReLU-like activation (ReLU, ReLU6, "
        "LeakyReLU): only positive gradients go through, whether the activation was on or not. It reconstructs "
        "the image patterns that excite the network. Guided Backprop is the same with the forward pass's gate "
        "added."
    )
    how_to_read = (
        "Bright pixels form the patterns that push activations up on the way to the class: textures and edges, "
        "often over the whole image."
    )
    pitfalls = (
        "It ignores where the activations were off, so it is barely about this image's evidence for the class and "
        "looks alike for every class; like Guided Backprop it shows the image's structure more than what the "
        "network learnt. Pair it with a CAM."
    )
    rule = "deconvolution"
