"""Backbones: real offline weights, timm preprocessing, weight resolution, cache and device."""

import concurrent.futures
import copy
import os
import threading
import time

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from timm.data import create_transform

import registry
from registry.imaging import labelled_samples
from registry.models import _weights as weights_module
from registry.models import pick_device

# ImageNet classes a good classifier gives each sample (examples/SOURCES.md, through registry.imaging.samples),
# and how far down the ranking they may sit: the launch photo is hard (lite2 ranks "drilling platform" first).
RANKS = {"cat": 1, "coffee": 1, "rocket": 3, "camera-gray": 1, "street-sign": 1}
EXPECTED = {stem: (set(labelled_samples()[stem].classes), rank) for stem, rank in RANKS.items()}


@pytest.mark.parametrize("name", ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"])
def test_packaged_weights_classify_the_samples(name, samples):
    backbone = registry.load_backbone(name, device="cpu")
    assert backbone.untrained is False and "package" in backbone.weights_source
    for stem, (classes, rank) in EXPECTED.items():
        top = backbone.predict(samples[stem], k=5)
        assert {index for index, *_ in top[:rank]} & classes, f"{name} on {stem}: {top}"
        assert abs(sum(p for *_, p in backbone.predict(samples[stem], k=1000)) - 1) < 1e-4


def test_espresso_is_confident(lite0, samples):
    index, label, probability = lite0.predict(samples["coffee"], k=1)[0]
    assert (index, label) == (967, "espresso") and probability > 0.9


def test_prepare_equals_timm_eval_transform(lite0, samples):
    image = registry.load_image(samples["rocket"])
    x, view = lite0.prepare(image)
    expected = create_transform(**lite0.data_config, is_training=False)(image).unsqueeze(0)
    assert x.shape == (1, 3, 224, 224) and view.size == (224, 224) and view.mode == "RGB"
    assert torch.allclose(x, expected)
    assert lite0.data_config["mean"] == (0.5, 0.5, 0.5)


def test_labels_come_from_timm_imagenet_info(lite0):
    assert lite0.num_classes == 1000
    assert lite0.labels[281] == "tabby, tabby cat" and lite0.labels[967] == "espresso"


def test_unknown_name_suggests_close_names():
    with pytest.raises(registry.UnknownBackboneError, match="resnet50"):
        registry.load_backbone("resnet5O")
    with pytest.raises(registry.UnknownBackboneError, match="Choose a backbone"):
        registry.load_backbone("  ")


def test_any_timm_name_with_pretrained_tag_is_accepted():
    assert registry.validate_name("resnet50.a1_in1k") == "resnet50.a1_in1k"


def test_weights_file_round_trip_safetensors_and_pth(tmp_path, lite0, samples):
    state = {k: v.contiguous() for k, v in lite0.model.state_dict().items()}
    save_file(state, tmp_path / "lite0.safetensors")
    torch.save(state, tmp_path / "lite0.pth")
    expected = lite0.predict(samples["coffee"], k=3)
    for file in ("lite0.safetensors", "lite0.pth"):
        loaded = registry.load_backbone("tf_efficientnet_lite0", device="cpu", weights=tmp_path / file)
        assert loaded is not lite0 and loaded.weights_source == f"file {file}"
        got = loaded.predict(samples["coffee"], k=3)
        assert [g[0] for g in got] == [e[0] for e in expected]
        assert np.allclose([g[2] for g in got], [e[2] for e in expected], atol=1e-5)


def test_weights_file_errors_are_clear(tmp_path):
    with pytest.raises(registry.WeightsUnavailableError, match="does not exist"):
        registry.load_backbone("resnet18", weights=tmp_path / "nope.pth")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(registry.WeightsUnavailableError, match="safetensors"):
        registry.load_backbone("resnet18", weights=tmp_path / "w.txt")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(
        registry.WeightsUnavailableError,
        match="wrong.pth is not a checkpoint of resnet18: only 1 of its 1 tensor names",
    ):
        registry.load_backbone("resnet18", weights=tmp_path / "wrong.pth")


def test_pickled_code_in_a_weights_file_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(registry.WeightsUnavailableError):
        registry.load_backbone("resnet18", weights=tmp_path / "evil.pth")
    assert not (tmp_path / "pwned").exists()


def test_tampered_packaged_checkpoint_is_refused(tmp_path):
    packaged = weights_module.PACKAGED["tf_efficientnet_lite0"]
    tampered = tmp_path / "lite0.pth"
    tampered.write_bytes(weights_module._packaged_file(packaged).read_bytes() + b"\0")
    with pytest.raises(registry.WeightsUnavailableError, match="SHA-256"):
        weights_module._from_packaged("tf_efficientnet_lite0", tampered, packaged)


def test_offline_without_weights_is_refused_quickly_with_advice(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache
    started = time.perf_counter()
    with pytest.raises(registry.WeightsUnavailableError) as caught:
        registry.load_backbone("resnet18")
    assert time.perf_counter() - started < 20
    message = str(caught.value)
    assert "cannot be reached" in message and "weights file" in message and "tf_efficientnet_lite0" in message


def test_hub_weights_come_from_timm_cache_when_offline(monkeypatch, tmp_path):
    """A Space downloads into the Hugging Face cache; offline, that cache is used with no network."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    reference = registry.load_backbone("resnet10t", device="cpu", weights="random").model
    snapshot = tmp_path / "models--timm--resnet10t.c3_in1k" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, snapshot / "model.safetensors")
    (tmp_path / "models--timm--resnet10t.c3_in1k" / "refs").mkdir()
    (tmp_path / "models--timm--resnet10t.c3_in1k" / "refs" / "main").write_text("0123abcd")
    backbone = registry.load_backbone("resnet10t", device="cpu")
    assert backbone.weights_source == "Hugging Face Hub timm/resnet10t.c3_in1k (cached)" and not backbone.untrained
    for name, tensor in reference.state_dict().items():
        assert torch.equal(backbone.model.state_dict()[name], tensor), name


def test_random_weights_only_when_asked_and_marked(samples):
    backbone = registry.load_backbone("resnet18", device="cpu", weights="random")
    assert backbone.untrained and "untrained" in backbone.weights_source
    result = registry.get_plugin("gradcam").run(backbone, samples["cat"])
    assert result.untrained and all("untrained" in caption for caption in result.captions)
    assert any("random weights" in note for note in result.notes)


def test_the_weights_digest_tells_weights_apart_not_loads(tiny):
    """Caches keyed by the digest (feature pictures) must miss for other weights of the same architecture."""
    again = tiny.twin(copy.deepcopy(tiny.model))
    assert again.weights_digest() == tiny.weights_digest()  # the same weights in other tensors
    changed = tiny.twin(copy.deepcopy(tiny.model))
    with torch.no_grad():
        next(changed.model.parameters()).add_(1e-3)
    assert changed.weights_digest() != tiny.weights_digest()


def test_model_without_pretrained_weights_is_refused():
    with pytest.raises(registry.WeightsUnavailableError, match="no pretrained weights"):
        registry.load_backbone("resnetblur18")  # an architecture timm ships untrained


def test_cache_reuses_and_evicts_least_recently_used(monkeypatch):
    monkeypatch.setenv("CNNLENS_MAX_MODELS", "2")
    first = registry.load_backbone("tf_efficientnet_lite0", device="cpu")
    assert registry.load_backbone("tf_efficientnet_lite0", device="cpu") is first
    registry.load_backbone("tf_efficientnet_lite1", device="cpu")
    registry.load_backbone("tf_efficientnet_lite0", device="cpu")  # lite0 now most recent
    registry.load_backbone("tf_efficientnet_lite2", device="cpu")
    held = registry.cached_backbones()
    assert held == ["tf_efficientnet_lite0", "tf_efficientnet_lite2"]


def test_cache_is_bounded_by_the_memory_of_its_models(monkeypatch):
    lite0 = registry.load_backbone("tf_efficientnet_lite0", device="cpu")
    lite1 = registry.load_backbone("tf_efficientnet_lite1", device="cpu")
    assert 4 * 4_000_000 < lite0.nbytes < 4 * 6_000_000  # about 4.7 M float32 parameters and buffers
    monkeypatch.setenv("CNNLENS_MAX_MODELS", "5")
    monkeypatch.setenv("CNNLENS_MAX_MODEL_MB", str((lite0.nbytes + lite1.nbytes) / 2**20 + 0.5))
    registry.load_backbone("tf_efficientnet_lite0", device="cpu")
    assert registry.cached_backbones()[-2:] == ["tf_efficientnet_lite1", "tf_efficientnet_lite0"]
    registry.load_backbone("tf_efficientnet_lite2", device="cpu")  # bigger than lite1: lite0 no longer fits beside it
    assert registry.cached_backbones() == ["tf_efficientnet_lite2"]
    monkeypatch.setenv("CNNLENS_MAX_MODEL_MB", str(lite0.nbytes / 2**20 + 0.5))  # room for lite0 alone
    assert registry.load_backbone("tf_efficientnet_lite0", device="cpu") is not lite0
    assert registry.cached_backbones() == ["tf_efficientnet_lite0"]


def test_device_choice(monkeypatch):
    monkeypatch.delenv("CNNLENS_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device().type == expected
    monkeypatch.setenv("CNNLENS_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert registry.load_backbone("tf_efficientnet_lite0").device == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_inplace_activations_are_switched_off(lite0):
    assert not any(getattr(m, "inplace", False) for m in lite0.model.modules())
    assert not lite0.model.training


def test_curated_shortlist_is_valid_timm_names_with_weights():
    from timm.models import get_pretrained_cfg

    names = registry.list_backbones()
    assert names[0] == registry.DEFAULT_BACKBONE and len(set(names)) == len(names)
    for name in names:
        assert registry.validate_name(name) == name and get_pretrained_cfg(name).hf_hub_id


def test_a_slow_load_does_not_block_cached_backbones():
    """While one user waits for a big model, everyone on a loaded model keeps being served."""
    from registry.models import _backbones as backbones

    held = registry.load_backbone("tf_efficientnet_lite0", device="cpu")

    loader = threading.Thread(
        target=registry.load_backbone, args=("resnet152",), kwargs={"device": "cpu", "weights": "random"}
    )
    loader.start()
    deadline = time.monotonic() + 30
    while (
        not any(key[0] == "resnet152" for key in backbones._LOADING)
        and loader.is_alive()
        and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    assert loader.is_alive(), "resnet152 loaded before the check could run"
    assert registry.load_backbone("tf_efficientnet_lite0", device="cpu") is held
    assert loader.is_alive()  # the cached model came back while the big one was still loading
    loader.join()
    assert "resnet152" in registry.cached_backbones()


def test_concurrent_loads_of_one_model_build_it_once():
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: registry.load_backbone("resnet34", device="cpu", weights="random"), range(3)))
    assert results[0] is results[1] is results[2]


def test_a_model_over_the_memory_setting_is_refused_before_it_is_built(monkeypatch):
    """vit_huge holds 2.4 GB of float32 parameters: measured on the meta device, refused with no memory taken."""
    with pytest.raises(registry.ModelTooLargeError, match=r"vit_huge_patch14_224 holds 631 M parameters \(2406 MB\)"):
        registry.load_backbone("vit_huge_patch14_224", weights=registry.RANDOM)
    monkeypatch.setenv("CNNLENS_MAX_MODEL_MB", "10")
    with pytest.raises(registry.ModelTooLargeError, match="resnet18 holds 12 M parameters.*up to 10 MB"):
        registry.load_backbone("resnet18", weights=registry.RANDOM, device="cpu")
    assert not any(name.startswith(("vit_huge", "resnet18")) for name in registry.cached_backbones())
    assert registry.load_backbone("test_resnet", weights=registry.RANDOM, device="cpu").untrained  # 1 MB: fits
