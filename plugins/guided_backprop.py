"""Guided Backpropagation (Springenberg et al., 2015) on every ReLU-like activation (registry/methods/_guided.py).

R = ∂y_c/∂x with every ReLU's backward pass keeping only positive gradients where its input was positive.
"""

from registry.methods import ReluRuleMap


class GuidedBackprop(ReluRuleMap):
    name = "guided_backprop"
    title = "Guided Backprop"
    family = "gradients"
    description = (
        "The input gradient with a rule at every ReLU-like activation (ReLU, ReLU6, LeakyReLU): only "
        "positive gradients pass, and only where the activation was on. The result looks like a crisp "
        "sketch of the edges the network uses. Smooth activations (SiLU, GELU) have no such rule and pass "
        "the plain gradient, so a model built only from them (most transformers, ConvNeXt) is refused; the "
        "map is also barely class-specific, so pair it with a CAM (Guided Grad-CAM)."
    )
    how_to_read = (
        "Bright pixels form a sketch of the edges and textures the network passes forward. It looks crisp and detailed."
    )
    pitfalls = (
        "It is barely about the class (the map for 'cat' and for 'car' look alike) and it survives "
        "randomizing the model (Adebayo et al. 2018): it shows the image's edges more than what the network "
        "learnt. Use Guided Grad-CAM."
    )
