"""Public names are spelled -ize; the British spellings they had stay for one release as aliases that warn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import registry
from registry.evaluation import summarise, summarize
from registry.methods import normalise, normalize


def test_normalise_still_normalizes_and_warns():
    raw = torch.tensor([[-2.0, 0.0], [1.0, 4.0]])
    with pytest.warns(DeprecationWarning, match="spelled normalize now"):
        old = normalise(raw, (2, 2), signed=True)
    np.testing.assert_array_equal(old, normalize(raw, (2, 2), signed=True))


def test_summarise_still_summarizes_and_warns():
    rows = [{"image": f"{i}.png", "backbone": "b", "method": "gradcam", "deletion_auc": i / 4} for i in range(4)]
    with pytest.warns(DeprecationWarning, match="spelled summarize now"):
        old = summarise(rows, resamples=50)
    assert old == summarize(rows, resamples=50)
    assert old[0]["n"] == 4


def test_backbone_normalised_still_normalizes_and_warns(tiny):
    like = torch.zeros(1, 3, 4, 4)
    with pytest.warns(DeprecationWarning, match="spelled normalized now"):
        old = tiny.normalised(0.5, like)
    torch.testing.assert_close(old, tiny.normalized(0.5, like), rtol=0, atol=0)


def test_compute_synchronised_still_computes_and_warns(tiny, samples):
    plugin = registry.get_plugin("guided_backprop")
    x, view = tiny.prepare(samples["cat"])
    ctx = plugin.context(tiny, x, view, 0, None, None, plugin.resolve_params({}), None)
    with pytest.warns(DeprecationWarning, match="spelled compute_synchronized now"):
        old = plugin.compute_synchronised(ctx)
    torch.testing.assert_close(old, plugin.compute_synchronized(ctx), rtol=0, atol=0)
