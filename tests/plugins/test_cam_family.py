"""The CAM family agrees with the independent pytorch-grad-cam package, on three architectures.

Same model, layer, class and input on both sides; a ResNet and a ConvNeXt with seeded random
weights (only the structure matters) and the default backbone with its real weights, each at
its default layer and at an earlier stage.
"""

import numpy as np
import pytest
import timm
import torch
from pytorch_grad_cam import (
    FEM,
    KPCA_CAM,
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    GradCAMElementWise,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

import registry
from testkit.cam_cases import CASES
from tests.plugins.test_gradcam import quadrants

ORACLES = {"gradcam_plusplus": GradCAMPlusPlus, "xgradcam": XGradCAM, "hirescam": HiResCAM, "layercam": LayerCAM}


@pytest.fixture(scope="module")
def backbones(lite0, tiny) -> dict[str, registry.Backbone]:
    found = {"tf_efficientnet_lite0": lite0, "test_resnet": tiny}  # test_resnet: the loops' equality, in seconds
    for name in ("resnet18", "convnext_atto"):
        torch.manual_seed(0)
        found[name] = registry.Backbone(name, timm.create_model(name), torch.device("cpu"), "seeded random", True)
    return found


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape and a.std() > 0.01 and b.std() > 0.01  # two real maps, not flat ones
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def oracle(method, backbone, image, layer, target, **settings) -> np.ndarray:
    x, _ = backbone.prepare(image)
    _, module = backbone.module(layer)
    with method(model=backbone.model, target_layers=[module], **settings) as cam:
        cam.batch_size = 16
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]


@pytest.mark.parametrize("backbone_name,layer", CASES)
def test_gradient_cams_match_pytorch_grad_cam(backbone_name, layer, backbones, samples):
    backbone = backbones[backbone_name]
    target = backbone.predict(samples["cat"], k=1)[0][0]
    for name, method in ORACLES.items():
        ours = registry.get_plugin(name).run(backbone, samples["cat"], target=target, layer=layer).heatmap
        theirs = oracle(method, backbone, samples["cat"], layer, target)
        assert correlation(ours, theirs) > 0.95, (name, backbone_name, layer)


@pytest.mark.parametrize("backbone_name,layer", CASES)
def test_eigencam_is_the_packages_principal_component_with_the_sign_of_the_activations(
    backbone_name, layer, backbones, samples
):
    """The package leaves the component's sign to the SVD (its map may be the wrong half); ours fixes it."""
    backbone = backbones[backbone_name]
    ours = registry.get_plugin("eigencam").run(backbone, samples["cat"], layer=layer).heatmap
    x, _ = backbone.prepare(samples["cat"])
    _, module = backbone.module(layer)
    with EigenCAM(model=backbone.model, target_layers=[module]) as cam:  # the package's activations and projection
        cam.activations_and_grads(x)
        activations = cam.activations_and_grads.activations[0].numpy()
    projection = torch.from_numpy(get_2d_projection(activations))[0]
    agreement = {
        sign: correlation(ours, registry.methods.normalize(sign * projection, ours.shape, signed=False))
        for sign in (1, -1)
    }
    sign = max(agreement, key=agreement.get)
    assert agreement[sign] > 0.95
    strength = torch.from_numpy(activations[0].sum(0))
    assert float((sign * projection * (strength - strength.mean())).sum()) > 0  # high where the layer is active


def test_eigencam_needs_no_class(lite0, samples):
    result = registry.get_plugin("eigencam").run(lite0, samples["cat"])
    assert result.target is None and result.label is None


@pytest.mark.parametrize(
    "backbone_name,layer",
    [("tf_efficientnet_lite0", "blocks.2"), ("test_resnet", "layer1"), ("convnext_atto", "stages.0")],
)
def test_scorecam_with_every_channel_equals_the_packages_scorecam(backbone_name, layer, backbones, samples):
    backbone = backbones[backbone_name]
    target = backbone.predict(samples["cat"], k=1)[0][0]
    ours = registry.get_plugin("scorecam").run(backbone, samples["cat"], target=target, layer=layer, channels=4096)
    theirs = oracle(ScoreCAM, backbone, samples["cat"], layer, target)
    assert correlation(ours.heatmap, theirs) > 0.99
    channels = backbone.layer_info(layer).channels
    assert f"scored {channels} of {channels} channels" in " ".join(ours.notes)


def blank_channels(backbone, layer, image) -> int:
    """How many of the layer's channels are zero everywhere on this image."""
    x, _ = backbone.prepare(image)
    recorded: list[torch.Tensor] = []
    handle = backbone.module(layer)[1].register_forward_hook(lambda _m, _i, output: recorded.append(output))
    with torch.no_grad():
        backbone.model(x)
    handle.remove()
    return int((~recorded[0][0].flatten(1).any(dim=1)).sum())


def images_through(backbone, call) -> int:
    sizes: list[int] = []
    handle = backbone.model.register_forward_hook(lambda _m, inputs, _o: sizes.append(inputs[0].shape[0]))
    try:
        call()
    finally:
        handle.remove()
    return sum(sizes)


@pytest.mark.parametrize("name,method,passes_for_blank", [("scorecam", ScoreCAM, 1), ("ablationcam", AblationCAM, 0)])
def test_channels_that_are_zero_everywhere_cost_at_most_one_pass_and_change_nothing(
    name, method, passes_for_blank, lite0, samples
):
    """Score-CAM: every blank channel masks the image to black, one pass scores them all. Ablation-CAM:
    switching off a blank channel changes nothing, so it needs no pass. Either way the map is the package's."""
    target = lite0.predict(samples["cat"], k=1)[0][0]
    blank = blank_channels(lite0, "bn1", samples["cat"])  # the stem's ReLU6: a few of its 32 channels are zero here
    assert blank > 0
    results = []
    images = images_through(
        lite0,
        lambda: results.append(
            registry.get_plugin(name).run(lite0, samples["cat"], target=target, layer="bn1", channels=4096)
        ),
    )
    assert images == 1 + passes_for_blank + (32 - blank)  # the shared pass, the blank ones, one per live channel
    assert f"{blank} " in " ".join(results[0].notes) and "zero everywhere" in " ".join(results[0].notes)
    assert correlation(results[0].heatmap, oracle(method, lite0, samples["cat"], "bn1", target)) > 0.99


def test_ablationcam_with_every_channel_equals_the_packages_on_a_relu_layer(backbones, samples):
    """The package ablates with 0 only where the layer's minimum is 0 (a ReLU output), as the paper does."""
    backbone = backbones["test_resnet"]
    target = backbone.predict(samples["cat"], k=1)[0][0]
    ours = (
        registry.get_plugin("ablationcam")
        .run(backbone, samples["cat"], target=target, layer="layer1", channels=4096)
        .heatmap
    )
    assert correlation(ours, oracle(AblationCAM, backbone, samples["cat"], "layer1", target)) > 0.95
    assert not backbone.model._forward_hooks and not dict(backbone.model.named_modules())["layer1"]._forward_hooks


def test_scorecam_default_costs_at_most_150_forward_passes_in_bounded_batches(lite0, samples):
    plugin = registry.get_plugin("scorecam")
    batches: list[int] = []
    handle = lite0.model.register_forward_hook(lambda _m, inputs, _o: batches.append(inputs[0].shape[0]))
    try:
        result = plugin.run(lite0, samples["cat"])
    finally:
        handle.remove()
    cap = next(p.default for p in plugin.params if p.name == "channels")
    assert sum(batches) <= 150 and sum(batches) >= cap  # images through the model: the pass plus one per channel
    assert max(batches) <= next(p.default for p in plugin.params if p.name == "batch_size")
    assert f"scored {cap} of 1280 channels" in " ".join(result.notes)


@pytest.mark.parametrize("name", ["gradcam_plusplus", "layercam", "scorecam"])
@pytest.mark.parametrize("target,quadrant", [(282, (0, 0)), (967, (0, 1))])
def test_heat_lies_on_the_object_of_the_class(name, target, quadrant, lite0, samples):
    """The peak, and most of the hot area (above half the peak), lie on the class's object.

    Total heat is a weaker measure for these methods: Grad-CAM++ and LayerCAM keep only positive
    gradients, so the other objects stay lukewarm and hold about half of the summed heat.
    """
    heat = registry.get_plugin(name).run(lite0, quadrants(samples), target=target).heatmap
    half = heat.shape[0] // 2
    row, column = quadrant
    inside = np.zeros_like(heat, dtype=bool)
    inside[row * half : (row + 1) * half, column * half : (column + 1) * half] = True
    hot = heat > 0.5
    assert inside[np.unravel_index(heat.argmax(), heat.shape)], f"{name}: the peak is off the object"
    assert (hot & inside).sum() / hot.sum() > 0.6, (
        f"{name}: only {(hot & inside).sum() / hot.sum():.0%} of the hot area on the object"
    )


# The layer each network's global average pooling reads, named for torch-cam, which hooks a module.
POOLED = {"tf_efficientnet_lite0": "bn2", "test_resnet": "layer4"}


@pytest.mark.parametrize("backbone_name", sorted(POOLED))
def test_cam_equals_torch_cams_cam_and_averages_to_the_class_score(backbone_name, backbones, samples):
    from torchcam.methods import CAM

    backbone = backbones[backbone_name]
    target = backbone.predict(samples["cat"], k=1)[0][0]
    ours = registry.get_plugin("cam").run(backbone, samples["cat"], target=target)
    x, _ = backbone.prepare(samples["cat"])
    classifier = backbone.model.get_classifier()
    with CAM(backbone.model, POOLED[backbone_name], classifier, input_shape=tuple(x.shape[1:])) as extractor:
        with torch.no_grad():
            logits = backbone.model(x)
        theirs = extractor(class_idx=target, normalized=False)[0][0]
    assert correlation(ours.raw, registry.methods.normalize(theirs, ours.raw.shape, signed=False)) > 0.999
    # Zhou et al.'s identity, which is why no gradient is needed: the unrectified map's mean is the class logit.
    with torch.no_grad():
        features = backbone.model.forward_features(x)
        whole = torch.einsum("k,bkhw->bhw", classifier.weight[target], features).mean()
    assert float(whole + classifier.bias[target]) == pytest.approx(float(logits[0, target]), rel=1e-4, abs=1e-4)


@pytest.mark.parametrize(
    "name,words",
    [("convnext_atto", "does more between the features"), ("mobilenetv3_small_050", "another layer sits in between")],
)
def test_cam_refuses_a_network_without_pooling_then_one_linear_layer_and_offers_grad_cam(name, words, backbones):
    backbone = backbones.get(name) or registry.Backbone(
        name, timm.create_model(name), torch.device("cpu"), "seeded random", True
    )
    refusal = registry.get_plugin("cam").refusal(backbone)
    assert refusal.startswith(f"CAM does not apply to {name}") and words in refusal and "Grad-CAM" in refusal
    with pytest.raises(registry.Unsupported, match="global average pooling followed by one linear layer"):
        registry.get_plugin("cam").run(backbone, np.zeros((64, 64, 3), np.uint8))


# pytorch-grad-cam's methods that CNN Lens took after the first sixteen; those marked signless leave a principal
# component's sign to the SVD or the kernel PCA (their map may be the wrong half), where ours fixes it.
PEERS_1_5_7 = {
    "gradcam_elementwise": (GradCAMElementWise, False),
    "fem": (FEM, False),
    "eigen_gradcam": (EigenGradCAM, True),
    "kpca_cam": (KPCA_CAM, True),
}


@pytest.mark.parametrize("backbone_name", ["tf_efficientnet_lite0", "test_resnet"])
@pytest.mark.parametrize("name", sorted(PEERS_1_5_7))
def test_the_later_cams_equal_pytorch_grad_cams(name, backbone_name, backbones, samples):
    backbone = backbones[backbone_name]
    method, signless = PEERS_1_5_7[name]
    target = backbone.predict(samples["cat"], k=1)[0][0]
    ours = registry.get_plugin(name).run(backbone, samples["cat"], target=target).heatmap
    x, _ = backbone.prepare(samples["cat"])
    layer = registry.get_plugin(name).auto_layer(backbone)
    with method(model=backbone.model, target_layers=[backbone.module(layer)[1]]) as cam:
        theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
        if signless:  # the other half of the package's component, rectified as its map is
            cam.get_cam_image = _negated(cam.get_cam_image)
            other = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
            theirs = max(theirs, other, key=lambda their: np.corrcoef(ours.ravel(), their.ravel())[0, 1])
    assert correlation(ours, theirs) > 0.999, (name, backbone_name)


def _negated(get_cam_image):
    return lambda *args, **kwargs: -get_cam_image(*args, **kwargs)
