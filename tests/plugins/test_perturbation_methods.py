"""The superpixel methods (LIME, Kernel SHAP, feature ablation, Shapley value sampling) equal captum called directly
on the same SLIC superpixels, baseline, class, seed and samples: captum is the test-only oracle here."""

import numpy as np
import pytest
import torch
from captum._utils.models.linear_model import SkLearnRidge
from captum.attr import FeatureAblation, KernelShap, Lime, ShapleyValueSampling
from skimage.segmentation import slic

import registry
from plugins.lime import RIDGE_ALPHA

SUPERPIXELS, SAMPLES, SEED = 8, 8, 3
CHEAP = {"superpixels": SUPERPIXELS, "batch_size": 16, "sign": "all"}
ORACLES = {
    "lime": (lambda model: Lime(model, interpretable_model=SkLearnRidge(alpha=RIDGE_ALPHA)), SAMPLES),
    "kernel_shap": (KernelShap, SAMPLES),
    "feature_ablation": (FeatureAblation, None),
    "shapley_sampling": (ShapleyValueSampling, 1),
}


@pytest.fixture(scope="module")
def setup(tiny, samples):
    """The image, its class and the oracle's own superpixels and mean-colour baseline, made here from scikit-image
    and torch, not from the plugins' helpers."""
    x, view = tiny.prepare(samples["cat"])
    target = int(tiny.probabilities(x).argmax())
    labels = slic(np.asarray(view), n_segments=SUPERPIXELS, compactness=10.0, start_label=0)
    mask = torch.from_numpy(np.unique(labels, return_inverse=True)[1].reshape(labels.shape))[None, None]
    return x, target, mask, x.mean(dim=(2, 3), keepdim=True).expand_as(x)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_each_superpixel_method_equals_captum(tiny, samples, setup, name):
    x, target, mask, reference = setup
    make, n_samples = ORACLES[name]
    params = CHEAP | ({"samples": n_samples, "seed": SEED} if n_samples else {})
    ours = registry.get_plugin(name).run(tiny, samples["cat"], target=target, **params)
    sampled = {"n_samples": n_samples} if n_samples else {}
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        theirs = make(tiny.model).attribute(
            x, baselines=reference, target=target, feature_mask=mask, perturbations_per_eval=16, **sampled
        )
    theirs = theirs[0].sum(dim=0).detach().numpy()
    assert int(mask.max()) + 1 >= 4 and any(f"{int(mask.max()) + 1} superpixels" in note for note in ours.notes)
    assert np.unique(theirs).size > 2, "the oracle's map is flat: the comparison would prove nothing"
    np.testing.assert_allclose(ours.raw, theirs, rtol=1e-4, atol=1e-5 * float(np.abs(theirs).max()))


def test_the_blurred_baseline_is_what_removed_regions_show(tiny, samples, setup):
    """Feature ablation against a blurred image: each region's value is the score lost when it alone is blurred."""
    x, target, mask, _ = setup
    ours = registry.get_plugin("feature_ablation").run(tiny, samples["cat"], target=target, baseline="blurred", **CHEAP)
    blurred = registry.methods.baseline(tiny, x, "blurred")
    region = int(mask[0, 0, 80, 80])
    inside = mask.expand_as(x) == region
    with torch.no_grad():
        scores = tiny.model(torch.cat([x, torch.where(inside, blurred, x)]))[:, target]
    assert ours.raw[80, 80] == pytest.approx(3 * float(scores[0] - scores[1]), rel=1e-3, abs=1e-6)
