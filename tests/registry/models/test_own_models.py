"""Models of one's own through the Python API: checkpoints as people save them, their classes, heads and inputs.

Behaviour is judged on real weights (testkit/own_models.py keeps rows of lite0's ImageNet head); structure
checks over every plugin run on timm's tiny test_resnet with random weights.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

import registry
from registry.models import read_labels, read_state_dict
from testkit.own_models import ARCHITECTURE, NAMES, save_binary, save_greyscale, save_three_class
from tests.plugins.test_gradcam import quadrants

PLACES = {0: (0, 0), 1: (0, 1), 2: (1, 1)}  # tiger cat top left, espresso top right, tripod (camera) bottom right


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_three_class(tmp_path_factory.mktemp("own"))


@pytest.fixture(scope="module")
def three(saved):
    return registry.load_backbone(ARCHITECTURE, device="cpu", weights=saved["safetensors"])


def _share(heat: np.ndarray, place: tuple[int, int]) -> float:
    half = heat.shape[0] // 2
    row, column = place
    return float(heat[row * half : (row + 1) * half, column * half : (column + 1) * half].sum() / heat.sum())


def test_a_three_class_checkpoint_loads_with_its_own_classes_and_top_k_stays_within_them(three, samples):
    assert three.labels == list(NAMES) and three.num_classes == 3 and not three.untrained
    assert three.weights_source == "file three.safetensors" and three.head == "softmax"
    ranked = three.predict(samples["cat"], k=5)
    assert len(ranked) == 3 and ranked[0][1] == "tiger cat" and ranked[0][2] > 0.9
    assert three.predict(samples["coffee"], k=1)[0][1] == "espresso"


@pytest.mark.parametrize("target", [0, 1, 2])
def test_each_class_of_ones_own_model_puts_its_heat_on_its_own_object(target, three, samples):
    heat = registry.get_plugin("gradcam").run(three, quadrants(samples), target=target).heatmap
    assert _share(heat, PLACES[target]) > 0.6, f"{NAMES[target]}: {_share(heat, PLACES[target]):.0%} on its object"


@pytest.mark.parametrize("form", ["parallel", "lightning", "hf"])
def test_every_way_people_save_a_checkpoint_gives_the_same_model(form, saved, three, samples):
    if form == "hf":
        other = registry.load_backbone(f"local-dir:{saved['hf']}", device="cpu")
    elif form == "lightning":  # no labels beside it: the caller names them
        other = registry.load_backbone(ARCHITECTURE, device="cpu", weights=saved[form], labels=list(NAMES))
    else:
        other = registry.load_backbone(ARCHITECTURE, device="cpu", weights=saved[form])
    assert other.labels == list(NAMES)
    x, _ = three.prepare(samples["coffee"])
    torch.testing.assert_close(other.probabilities(x), three.probabilities(x))


def test_a_checkpoint_without_labels_numbers_its_classes(saved, tmp_path):
    alone = tmp_path / "alone.safetensors"
    alone.write_bytes(saved["safetensors"].read_bytes())
    backbone = registry.load_backbone(ARCHITECTURE, device="cpu", weights=alone)
    assert backbone.labels == ["class 0", "class 1", "class 2"]


def test_reading_a_checkpoint_unwraps_it_and_never_unpickles_code(saved, tmp_path):
    state = read_state_dict(saved["parallel"])
    assert "classifier.weight" in state and not any(key.startswith("module.") for key in state)

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    torch.save({"state_dict": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(registry.models.CheckpointError, match="could not be read as a checkpoint"):
        read_state_dict(tmp_path / "evil.pth")
    with pytest.raises(registry.WeightsUnavailableError, match="use a .safetensors, .pth, .pt or .bin file"):
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=tmp_path / "model.onnx")


def test_a_checkpoint_that_does_not_fit_is_one_sentence_naming_the_tensor_and_both_shapes(saved, tmp_path):
    state = read_state_dict(saved["safetensors"])
    state["blocks.1.0.conv_pw.weight"] = torch.zeros(8, 16, 1, 1)
    save_file(state, str(tmp_path / "bent.safetensors"))
    with pytest.raises(registry.WeightsUnavailableError) as refused:
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=tmp_path / "bent.safetensors")
    message = str(refused.value)
    assert message.startswith("bent.safetensors does not fit tf_efficientnet_lite0: its blocks.1.0.conv_pw.weight")
    assert "8×16×1×1" in message and "96×16×1×1" in message and "\n" not in message
    with pytest.raises(registry.WeightsUnavailableError, match="is not a checkpoint of resnet18: only"):
        registry.load_backbone("resnet18", device="cpu", weights=saved["safetensors"])
    del state["blocks.1.0.conv_pw.weight"]
    save_file(state, str(tmp_path / "short.safetensors"))
    with pytest.raises(registry.WeightsUnavailableError, match="it lacks blocks.1.0.conv_pw.weight"):
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=tmp_path / "short.safetensors")


def test_labels_come_as_lines_json_lists_or_maps_and_must_match_the_head(saved, tmp_path):
    (tmp_path / "list.json").write_text('["a", "b", "c"]')
    (tmp_path / "map.json").write_text('{"1": "b", "0": "a", "2": "c"}')
    (tmp_path / "config.json").write_text('{"label_names": ["a", "b", "c"]}')
    for source in ("list.json", "map.json", "config.json"):
        assert read_labels(tmp_path / source) == ["a", "b", "c"]
    with pytest.raises(registry.models.CheckpointError, match="number its classes 0 to 2, each once"):
        read_labels({"0": "a", "1": "b", "3": "c"})
    with pytest.raises(registry.WeightsUnavailableError, match="2 class names were given for a model with 3 outputs"):
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=saved["safetensors"], labels=["a", "b"])
    with pytest.raises(registry.WeightsUnavailableError, match="The labels file missing.txt does not exist"):
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=saved["safetensors"], labels="missing.txt")


def test_a_greyscale_model_sees_one_channel_and_agrees_with_the_colour_model_on_a_grey_image(three, samples, tmp_path):
    grey = registry.load_backbone(ARCHITECTURE, device="cpu", weights=save_greyscale(tmp_path), labels=list(NAMES))
    x, view = grey.prepare(samples["cat"])
    assert grey.channels == 1 and x.shape[1] == 1 and view.mode == "L"
    assert grey.data_config["mean"] == (0.5,) and grey.predict(samples["cat"], k=1)[0][1] == "tiger cat"
    picture = quadrants(samples).convert("L").convert("RGB")  # a grey image: both models see the same thing
    for target in PLACES:
        ours = registry.get_plugin("gradcam").run(grey, picture, target=target).heatmap
        colour = registry.get_plugin("gradcam").run(three, picture, target=target).heatmap
        assert np.corrcoef(ours.ravel(), colour.ravel())[0, 1] > 0.95


def test_a_single_logit_model_explains_positive_and_negative_as_two_classes(samples, tmp_path):
    binary = registry.load_backbone(ARCHITECTURE, device="cpu", weights=save_binary(tmp_path), labels=["tiger cat"])
    assert binary.labels == ["not tiger cat", "tiger cat"] and binary.head == "binary"
    x, _ = binary.prepare(samples["cat"])
    probabilities = binary.probabilities(x)
    assert probabilities.sum().item() == pytest.approx(1.0) and probabilities[1] > 0.9
    picture = quadrants(samples)
    positive = registry.get_plugin("gradcam").run(binary, picture, target=1)
    negative = registry.get_plugin("gradcam").run(binary, picture, target=0)
    assert _share(positive.heatmap, PLACES[0]) > 0.6  # for the cat: the cat
    assert _share(negative.heatmap, PLACES[1]) > 0.5  # against it (the espresso side of the logit): the coffee
    assert positive.probability + negative.probability == pytest.approx(1.0, abs=1e-5)


def test_a_multi_label_head_gives_probabilities_that_need_not_sum_to_one(saved, samples):
    multi = registry.load_backbone(ARCHITECTURE, device="cpu", weights=saved["safetensors"], multi_label=True)
    probabilities = multi.probabilities(multi.prepare(quadrants(samples))[0])
    assert multi.head == "sigmoid" and "need not sum to one" in multi.head_note
    assert probabilities.sum().item() > 1.2  # cat and coffee are each likely on the quadrant image


def test_a_plain_module_with_real_weights_is_wrapped_and_every_analysis_works_on_it(three, samples):
    """Not a timm model: an nn.Sequential of lite0's layers, with no timm config or feature_info."""
    parts = three.model
    plain = torch.nn.Sequential(
        parts.conv_stem, parts.bn1, parts.blocks, parts.conv_head, parts.bn2, parts.global_pool, parts.classifier
    )
    own = registry.wrap_model(
        plain, "my_net", labels=list(NAMES), input_size=(224, 224), mean=(0.5,) * 3, std=(0.5,) * 3, device="cpu"
    )
    assert own.default_layer == "4" and own.predict(samples["cat"], k=1)[0][1] == "tiger cat"
    heat = registry.get_plugin("gradcam").run(own, quadrants(samples), target=1).heatmap
    assert _share(heat, PLACES[1]) > 0.6
    comparison = registry.compare(samples["cat"], backbones=[own], plugins=["gradcam", "saliency"], targets=[None, 1])
    assert all(cell.error is None for cell in comparison.cells)
    gradcam = comparison.cell("my_net", "gradcam", None).result
    score = registry.faithfulness(own, samples["cat"], gradcam, steps=8, seeds=2)
    assert score.deletion_auc < score.insertion_auc and score.label == "tiger cat"
    check = registry.sanity_check(own, samples["cat"], "gradcam", parts=2)
    assert check.label == "tiger cat" and len(check.heatmaps) == 3


def test_the_learn_steps_run_on_a_wrapped_model_and_the_imagenet_one_says_why_not(three, samples):
    from registry.teaching import fail, filters, lesson

    parts = three.model
    plain = torch.nn.Sequential(
        parts.conv_stem, parts.bn1, parts.blocks, parts.conv_head, parts.bn2, parts.global_pool, parts.classifier
    )
    own = registry.wrap_model(plain, "my_net", labels=list(NAMES), mean=(0.5,) * 3, std=(0.5,) * 3, device="cpu")
    rows = lesson.network_stages(own)
    assert rows and lesson.stages_sentence(own, rows)
    assert filters.first_layer(own, samples["cat"]).pairs.width > 100
    assert lesson.layer_by_layer(own, samples["cat"]).sentence
    evidence = lesson.class_evidence(own, samples["cat"])
    assert evidence.numbers["targets"][0] == 0  # tiger cat, by the model's own numbering
    covered = fail.cover_test(own, samples["cat"])
    assert covered.label == "tiger cat" and 0 <= covered.top_probability <= 1
    with pytest.raises(ValueError, match="needs a model with ImageNet's 1,000 classes.*my_net has its own 3 classes"):
        lesson.mistake(own)


def test_wrap_model_measures_a_torchvision_network_it_has_never_seen(samples):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    network = torchvision.models.resnet18(num_classes=4)
    own = registry.wrap_model(network, "tv_resnet18", labels=list("abcd"), device="cpu", untrained=True)
    # layer4.1 is the tensor layer4 returns: pytorch-grad-cam's README takes `model.layer4[-1]` too
    assert own.default_layer == "layer4.1" and own.num_classes == 4 and own.layer_info("layer4").channels == 512
    assert {layer.depth_name for layer in own.layers} == {"early", "middle", "final"}
    result = registry.get_plugin("gradcam").run(own, samples["cat"])
    assert result.heatmap.shape == (224, 224) and result.untrained


@pytest.mark.parametrize("head", [1, 3])
@pytest.mark.parametrize("plugin", registry.list_plugins(), ids=lambda plugin: plugin.name)
def test_every_method_runs_on_a_greyscale_model_with_a_small_head(plugin, head, samples):
    torch.manual_seed(0)
    network = timm.create_model("test_resnet", num_classes=head, in_chans=1)
    own = registry.wrap_model(network, f"grey{head}", input_size=(1, 96, 128), mean=(0.45,), std=(0.25,), device="cpu")
    assert own.num_classes == (2 if head == 1 else 3)
    if plugin.refusal(own):  # LRP needs a plain chain; test_resnet has skip connections
        with pytest.raises(registry.Unsupported, match=f"does not apply to grey{head}"):
            plugin.run(own, samples["camera-gray"], target=own.num_classes - 1)
        return
    result = plugin.run(own, samples["camera-gray"], target=own.num_classes - 1, **plugin.quick_params)
    if result.heatmap is not None:
        assert result.images[0].size == (128, 96)
        assert result.heatmap.shape == (96, 128) and np.isfinite(result.heatmap).all()


def test_hub_and_folder_names_are_accepted_as_names_and_refused_in_a_sentence_when_absent(tmp_path):
    assert registry.validate_name("hf-hub:timm/resnet18.a1_in1k") == "hf-hub:timm/resnet18.a1_in1k"
    with pytest.raises(registry.UnknownBackboneError, match="is not a Hub model id"):
        registry.validate_name("hf-hub:not a repo")
    with pytest.raises(registry.WeightsUnavailableError, match="Hugging Face Hub cannot be reached"):
        registry.load_backbone("hf-hub:someone/their-model", device="cpu")
    with pytest.raises(registry.WeightsUnavailableError, match="is not a model folder: it needs a config.json"):
        registry.load_backbone(f"local-dir:{tmp_path}", device="cpu")
    Image.new("RGB", (4, 4)).save(tmp_path / "x.png")


def test_a_folders_config_sets_the_input_the_classes_and_the_head(tmp_path, samples):
    """timm's save_for_hf folder with a config of its own: a 1-channel 96×128 input with its mean and std, named
    classes and a multi-label head; all of it is honoured (structure only: random weights, seed 0)."""
    import json

    from timm.models import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", num_classes=4, in_chans=1)
    save_for_hf(model, tmp_path / "xray", model_config={"label_names": ["normal", "nodule", "effusion", "edema"]})
    config = json.loads((tmp_path / "xray" / "config.json").read_text())
    config["pretrained_cfg"].update(input_size=[1, 96, 128], mean=[0.4], std=[0.2])
    config["problem_type"] = "multi_label_classification"
    (tmp_path / "xray" / "config.json").write_text(json.dumps(config))
    own = registry.load_backbone(f"local-dir:{tmp_path / 'xray'}", device="cpu")
    assert own.labels == ["normal", "nodule", "effusion", "edema"] and own.head == "sigmoid"
    assert own.data_config["input_size"] == (1, 96, 128) and own.data_config["mean"] == (0.4,)
    x, view = own.prepare(samples["camera-gray"])
    assert x.shape == (1, 1, 96, 128) and view.size == (128, 96) and view.mode == "L"
    assert len(own.predict(samples["camera-gray"], k=10)) == 4


@pytest.mark.parametrize(
    "change,words",
    [
        ({"input_size": [3, 100000, 100000]}, "outside what CNN Lens shows (8 to 1024 pixels a side)"),
        ({"crop_pct": 1e-9}, "crop_pct must be a number from 0.25 to 1"),
        ({"std": [0.0, 0.5, 0.5]}, "std must be finite numbers above 0"),
        ({"mean": [float("nan"), 0.5, 0.5]}, "mean must be finite numbers"),
        ({"mean": ["nan", "x", 1]}, "mean must be 1 or 3 finite numbers; got ['nan', 'x', 1]."),
        ({"std": {"r": 1}}, "std must be 1 or 3 finite numbers above 0; got {'r': 1}."),
    ],
)
def test_a_config_beside_a_checkpoint_cannot_ask_for_absurd_preprocessing(change, words, saved, tmp_path):
    """The config may come from a stranger's upload: a huge input would allocate gigabytes, a zero std divide."""
    import json
    import shutil

    shutil.copy(saved["safetensors"], tmp_path / "three.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"pretrained_cfg": change}))
    with pytest.raises(registry.WeightsUnavailableError, match=re.escape(words)):
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=tmp_path / "three.safetensors")


def test_a_config_or_labels_file_nested_too_deep_is_a_sentence(saved, tmp_path):
    import shutil

    shutil.copy(saved["safetensors"], tmp_path / "three.safetensors")
    (tmp_path / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nests its JSON too deeply to be a config"):
        registry.load_backbone(ARCHITECTURE, device="cpu", weights=tmp_path / "three.safetensors")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="deep.json nests its JSON too deeply to be a labels file"):
        read_labels(tmp_path / "deep.json")


def test_a_long_name_is_quoted_short():
    with pytest.raises(registry.UnknownBackboneError) as wrong:
        registry.validate_name("x" * 100_000)
    assert str(wrong.value).startswith(f"{'x' * 60!r}… (100,000 characters) is not a timm model.")
    assert len(str(wrong.value)) < 200
