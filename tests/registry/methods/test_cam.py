"""The CAM bases: a subclass writes its texts and its weights; the base declares the rest and makes the map."""

import numpy as np
import pytest

import registry
from registry import Context, GradientCam, PerturbationCam


class AverageGradient(GradientCam):
    name, title, description = "average_gradient", "Average gradient", "Grad-CAM as a plugin author writes it."

    def channel_weights(self, ctx: Context):
        return ctx.gradients.mean(dim=(2, 3))


class OwnGradient(GradientCam):
    name, title, description = "own_gradient", "Own gradient", "HiResCAM: each location weighed by its gradient."

    def channel_weights(self, ctx: Context):
        return ctx.gradients


def test_a_gradient_cam_declares_what_the_gradient_cams_need():
    declared = (AverageGradient.needs_target, AverageGradient.needs_layer, AverageGradient.needs_gradients)
    assert declared == (True, True, True)
    assert AverageGradient.reads == ("activations", "gradients") and AverageGradient.output == "heatmap"
    perturbing = (PerturbationCam.needs_target, PerturbationCam.cost, PerturbationCam.reads)
    assert perturbing == (True, "heavy", ("activations",))


@pytest.mark.parametrize(("plugin", "builtin"), [(AverageGradient(), "gradcam"), (OwnGradient(), "hirescam")])
def test_weights_per_channel_or_per_location_give_the_builtin_map(tiny, samples, plugin, builtin):
    plugin.validate()
    ours = plugin.run(tiny, samples["cat"], target=1)
    theirs = registry.get_plugin(builtin).run(tiny, samples["cat"], target=1)
    np.testing.assert_array_equal(ours.heatmap, theirs.heatmap)
