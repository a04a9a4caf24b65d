"""LeGrad agrees with torch-cam 0.5's LeGrad, and is refused in words where it cannot apply.

torch-cam's LeGrad reads `self_attention: nn.MultiheadAttention` children and projects a block's tokens with
torchvision's `encoder.ln` and `heads`, so it does not run on a timm ViT as-is. The oracle's side is therefore
torchvision's own VisionTransformer built to timm's `test_vit` shape (160 px, 16-pixel patches, 6 blocks of width 64,
2 heads) and given the timm model's seeded random weights, checked to give the same logits first: the same network
under torchvision's code, which torch-cam supports without a wrapper. Only the structure matters for equality.
"""

import numpy as np
import pytest
import torch

import registry
from plugins.legrad import legrad_map
from registry.methods._shared_pass import SharedPass
from testkit.transformers import torchvision_twin


@pytest.fixture(scope="module")
def vit():
    return registry.load_backbone("test_vit", device="cpu", weights=registry.RANDOM)


@pytest.fixture(scope="module")
def twin(vit):
    return torchvision_twin(vit.model)


def test_equal_to_torch_cams_legrad_on_the_same_network(vit, twin, samples):
    from torchcam.methods import LeGrad

    x, _ = vit.prepare(samples["cat"])
    with torch.no_grad():
        logits = vit.model(x)
        torch.testing.assert_close(twin(x), logits, rtol=1e-4, atol=1e-4)  # one network, two codes
    top = int(logits.argmax())
    with vit.lock:
        shared = SharedPass(vit, x, attention=True)  # the one forward the plugin reads, attention unfused
    torch.testing.assert_close(shared.logits.detach(), logits, rtol=1e-5, atol=1e-5)  # unfused: the same network
    for target in (top, 3):  # the predicted class and another: LeGrad's maps depend on the class
        with LeGrad(twin, list(twin.encoder.layers)) as extractor:
            twin(x)
            theirs = extractor(target, normalized=False)[0][0]
        ours = legrad_map(vit, shared.attention_maps(), target)
        assert ours.shape == theirs.shape == (10, 10) and theirs.std() > 0
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6 * float(theirs.max()))
    shown = registry.get_plugin("legrad").run(vit, samples["cat"], target=top)  # the plugin shows that map, upsampled
    resized = registry.methods.normalize(legrad_map(vit, shared.attention_maps(), top), shown.raw.shape, signed=False)
    assert np.corrcoef(shown.raw.ravel(), resized.ravel())[0, 1] > 0.999


def test_one_shared_pass_serves_it_and_the_attention_runs_fused_again_afterwards(vit, samples):
    """The forward pass that gives the prediction also records the attention maps: no second pass of the model."""
    fused = [block.attn.fused_attn for block in vit.model.blocks]
    calls = []
    handle = vit.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        registry.get_plugin("legrad").run(vit, samples["cat"])
    finally:
        handle.remove()
    assert len(calls) == 1
    assert [block.attn.fused_attn for block in vit.model.blocks] == fused


def test_refused_on_a_cnn_in_words_that_offer_grad_cam(samples):
    tiny = registry.load_backbone("test_resnet", device="cpu", weights=registry.RANDOM)
    with pytest.raises(registry.Unsupported, match="LeGrad does not apply to test_resnet") as refused:
        registry.get_plugin("legrad").run(tiny, samples["cat"])
    assert "no patch tokens and no attention (it is convolutional)" in str(refused.value)
    assert "Grad-CAM" in str(refused.value)


def test_refused_on_a_transformer_whose_blocks_sit_in_stages():
    from testkit.transformers import transformer

    said = registry.get_plugin("legrad").refusal(transformer("swin"))
    assert "keeps its blocks in stages (as Swin does)" in said and "use it instead" in said


def test_evaluate_scores_it_image_by_image(vit, samples):
    """Evaluate's batched pass keeps no attention maps, so LeGrad runs on its own pass for each image."""
    quick = registry.EvaluationProtocol(steps=2, seeds=1)
    evaluation = registry.evaluate(
        [str(samples["cat"])], backbones=[vit], methods=["legrad"], metrics=["deletion"], protocol=quick
    )
    assert [(row["method"], row.get("error")) for row in evaluation.rows] == [("legrad", None)]
    assert evaluation.rows[0]["deletion_auc"] is not None
