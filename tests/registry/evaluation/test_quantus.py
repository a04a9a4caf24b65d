"""Deletion against an independent implementation: Quantus's PixelFlipping (Bach et al. 2015), which removes
pixels in the map's order to a baseline and follows the class's softmax, is RISE's deletion curve. Quantus 0.6
has no insertion metric, so only deletion has an oracle; insertion shares every step but the canvas."""

import numpy as np
import pytest
import torch

from registry.evaluation._engine import Evaluator, Settings, _Map
from registry.evaluation._geometry import ViewMaker
from registry.evaluation._metrics import auc

quantus = pytest.importorskip("quantus")


def test_deletion_auc_matches_quantus_pixel_flipping(tiny, samples):
    steps = 5
    maker = ViewMaker(tiny.data_config)
    x, _ = maker.view(maker.picture(samples["cat"])[0])
    height, width = x.shape[-2:]
    heatmap = np.random.default_rng(3).random((height, width)).astype(np.float32)  # distinct values: no ties
    with torch.no_grad():
        target = int(tiny.model(x[None]).argmax())
    evaluator = Evaluator(tiny, [], Settings(metrics=("deletion",), steps=steps, seeds=1), [])
    pending = [_Map({}, 0, target, heatmap)]
    evaluator._faithfulness(x[None], pending)
    ours = pending[0].row["deletion_auc"]

    per_step = height * width // steps
    curve = quantus.PixelFlipping(
        features_in_step=per_step,
        perturb_baseline=0.0,  # zeros in the model's input space: registry's deletion_baseline="zero"
        normalise=False,
        abs=False,
        disable_warnings=True,
    )(
        model=tiny.model,
        x_batch=x[None].numpy(),
        y_batch=np.array([target]),
        a_batch=heatmap[None, None],
        channel_first=True,
        softmax=True,
        device="cpu",
    )[0]
    with torch.no_grad():
        start = float(tiny.model(x[None]).softmax(-1)[0, target])
    # Quantus repeats a one-channel map over the three channels and flips `per_step` values a step, so a pixel's
    # three values (equal, hence adjacent in its order) go in the same third of a step: every third point of its
    # curve has whole pixels removed, as ours does.
    assert len(curve) == 3 * steps
    theirs = auc([start, *curve[2::3]], np.linspace(0, 1, steps + 1))
    assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-7)
