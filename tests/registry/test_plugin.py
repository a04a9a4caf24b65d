"""The shared plugin machinery: normalisation rules and declaration checks."""

import numpy as np
import pytest
import torch

from registry import Param, Plugin, PluginSpecError
from registry.plugin import normalise


def test_unsigned_maps_keep_zero_and_reach_one():
    heat = normalise(torch.tensor([[-2.0, 0.0], [1.0, 4.0]]), (2, 2), signed=False)
    np.testing.assert_allclose(heat, [[0.0, 0.0], [0.25, 1.0]])


def test_signed_maps_put_zero_at_half():
    heat = normalise(torch.tensor([[-2.0, 0.0], [1.0, 2.0]]), (2, 2), signed=True)
    np.testing.assert_allclose(heat, [[0.0, 0.5], [0.75, 1.0]])


def test_percentile_scaling_saturates_outliers():
    values = torch.arange(1000, dtype=torch.float32).reshape(25, 40)
    values[0, 0] = 1e6  # one extreme gradient
    heat = normalise(values, (25, 40), signed=False, percentile=99.0)
    assert heat[0, 0] == 1.0 and heat.flatten()[500] > 0.45  # the rest is still visible
    assert normalise(values, (25, 40), signed=False).flatten()[500] < 0.001  # plain max scaling: black


def test_low_resolution_maps_are_upsampled_and_flat_maps_stay_flat():
    assert normalise(np.ones((7, 7)), (224, 224), signed=False).shape == (224, 224)
    assert normalise(np.zeros((4, 4)), (4, 4), signed=False).max() == 0.0
    assert (normalise(np.zeros((4, 4)), (4, 4), signed=True) == 0.5).all()
    with pytest.raises(RuntimeError, match="2-D"):
        normalise(np.zeros((2, 3, 4)), (4, 4), signed=False)


def test_declaration_checks():
    class NoCompute(Plugin):
        name, title, description = "no_compute", "No compute", "Declares everything but computes nothing."

    class Reserved(NoCompute):
        name = "reserved"
        params = (Param("target", "int", 1, minimum=0, maximum=9),)

        def compute(self, ctx):
            return ctx.x[0, 0]

    with pytest.raises(PluginSpecError, match="does not implement compute"):
        NoCompute().validate()
    with pytest.raises(PluginSpecError, match="must be unique and not"):
        Reserved().validate()
