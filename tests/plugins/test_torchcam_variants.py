"""SS-CAM, IS-CAM and Smooth Grad-CAM++ agree with torch-cam 0.5's SSCAM, ISCAM and SmoothGradCAMpp.

Same model, layer, class and input on both sides: timm's test_resnet with seeded random weights (only the structure
matters for equality) at 64 pixels, so every channel is scored in a second or two. The random methods draw their
noise from torch's global generator on the CPU, one tensor a sample in the same order as torch-cam; seeding both
sides with the same seed (ours through its `seed` parameter) makes them see the same noise tensors, so the maps are
compared for equality, not in expectation.
"""

import numpy as np
import pytest
import torch

import registry
from testkit.small_backbone import small_test_resnet

LAYER = "layer2"  # 48 channels, 8 × 8 at 64 pixels: every channel scored, a map with some structure


@pytest.fixture(scope="module")
def small():
    return small_test_resnet(64)


@pytest.fixture(scope="module")
def case(small, samples):
    x, _ = small.prepare(samples["cat"])
    return x, small.predict(samples["cat"], k=1)[0][0]


def agreement(ours: np.ndarray, theirs: torch.Tensor) -> float:
    """Pearson r of our raw map and torch-cam's (at the layer's resolution, upsampled as ours is)."""
    resized = registry.methods.normalize(theirs, ours.shape, signed=False)
    assert ours.std() > 0 and resized.std() > 0.01  # two real maps, not flat ones
    return float(np.corrcoef(ours.ravel(), resized.ravel())[0, 1])


def torchcam_map(method, backbone, x, target, **settings) -> torch.Tensor:
    with method(backbone.model, LAYER, input_shape=tuple(x.shape[1:]), **settings) as extractor:
        with torch.no_grad():
            backbone.model(x)
        torch.manual_seed(7)  # the noise seed of both sides
        return extractor(class_idx=target, normalized=False)[0][0]


@pytest.mark.parametrize(
    "name,peer,settings",
    [
        ("sscam", "SSCAM", {"samples": 2, "noise": 2.0}),  # torch-cam's σ
        ("iscam", "ISCAM", {"samples": 3}),
    ],
)
def test_score_cam_variants_with_every_channel_equal_torch_cams(name, peer, settings, small, case, samples):
    import torchcam.methods

    x, target = case
    seed = {"seed": 7} if name == "sscam" else {}  # IS-CAM draws no noise
    ours = registry.get_plugin(name).run(
        small, samples["cat"], target=target, layer=LAYER, channels=4096, **seed, **settings
    )
    extra = {"std": settings["noise"]} if "noise" in settings else {}
    theirs = torchcam_map(
        getattr(torchcam.methods, peer), small, x, target, batch_size=16, num_samples=settings["samples"], **extra
    )
    assert agreement(ours.raw, theirs) > 0.999
    assert f"scored 48 of 48 channels, {settings['samples']} samples each" in " ".join(ours.notes)


def test_sscam_depends_on_its_seed_and_repeats_with_it(small, samples):
    run = registry.get_plugin("sscam").run
    first, again = (run(small, samples["cat"], layer=LAYER, channels=8, samples=1, seed=1) for _ in range(2))
    other = run(small, samples["cat"], layer=LAYER, channels=8, samples=1, seed=2)
    np.testing.assert_array_equal(first.raw, again.raw)
    assert not np.array_equal(first.raw, other.raw)


def test_smooth_gradcam_plusplus_without_noise_equals_torch_cams(small, case, samples):
    """With (almost) no noise every sample is the image itself, and torch-cam's whole map is ours."""
    from torchcam.methods import SmoothGradCAMpp

    x, target = case
    ours = registry.get_plugin("smoothgradcam_plusplus").run(
        small, samples["cat"], target=target, layer=LAYER, samples=2, noise=0.0
    )
    with SmoothGradCAMpp(small.model, LAYER, num_samples=2, std=1e-12, input_shape=tuple(x.shape[1:])) as extractor:
        scores = small.model(x)
        theirs = extractor(class_idx=target, scores=scores, normalized=False)[0][0]
    assert agreement(ours.raw, theirs) > 0.999


def test_smooth_gradcam_plusplus_with_noise_has_torch_cams_weights(small, case, samples):
    """Under the same seed both sides draw the same noise and average the same gradient powers into the same
    channel weights. They differ on purpose in what the weights multiply: torch-cam's map sums them over the
    activations (and ReLU-ed gradient) of its *last* noisy sample, which its hooks kept, so its map is one
    sample's; ours, as the paper writes it, over the image's own activations and the samples' mean gradient.
    With one sample the mean is that sample's gradient, so torch-cam's weights on the clean activations are ours."""
    from torchcam.methods import SmoothGradCAMpp

    x, target = case
    ours = registry.get_plugin("smoothgradcam_plusplus").run(
        small, samples["cat"], target=target, layer=LAYER, samples=1, noise=0.3, seed=7
    )
    with SmoothGradCAMpp(small.model, LAYER, num_samples=1, std=0.3, input_shape=tuple(x.shape[1:])) as extractor:
        scores = small.model(x)
        clean = extractor.hook_a[0].clone()
        torch.manual_seed(7)
        weights = extractor._get_weights(target, scores)[0]  # the weights its __call__ computes, before the sum
    theirs = torch.relu((weights[..., None, None] * clean).sum(dim=1))[0]
    assert agreement(ours.raw, theirs) > 0.999
