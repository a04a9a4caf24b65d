"""A model of one's own through the served app's HTTP API (gradio_client): upload, explain with its own class
names, compare; another client never sees it; every refusal is a sentence and the next request still works."""

from __future__ import annotations

import json

import httpx
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from testkit.own_models import save_binary, save_three_class

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own_app")
    paths = save_three_class(folder)
    paths["binary"] = save_binary(folder)
    return paths


@pytest.fixture(scope="module")
def uploaded(client, saved):
    """The 3-class checkpoint and its labels file, uploaded once: (backbone value, status sentence)."""
    files = [handle_file(str(saved["safetensors"])), handle_file(str(saved["labels"]))]
    return client.predict(files, "tf_efficientnet_lite0", api_name="/upload_model")


def _refused(client, *args, api_name: str) -> str:
    with pytest.raises(AppError) as refused:
        client.predict(*args, api_name=api_name)
    return str(refused.value)


def _compare(client, image, backbones: list[str]):
    """/compare of Grad-CAM for the predicted class, at each method's default layer, on `backbones`."""
    return client.predict(
        handle_file(str(image)),
        backbones,
        ["gradcam"],
        ["predicted"],
        ["default"],
        False,
        True,
        False,
        api_name="/compare",
    )


def _still_serves(client, samples) -> None:
    assert client.predict(handle_file(str(samples["coffee"])), api_name="/predict")["label"] == "967: espresso"


def test_an_upload_is_explained_with_its_own_classes(client, uploaded, samples):
    name, status = uploaded
    assert name.startswith("upload:") and len(name) > 20
    assert "3 classes (tiger cat, espresso, tripod)" in status and "colour input of 224×224" in status
    top = client.predict(handle_file(str(samples["coffee"])), name, False, api_name="/predict")
    assert top["label"] == "1: espresso" and len(top["confidences"]) == 3  # top-5 of a 3-class model: 3
    _map, _gallery, info, data, _raw, _overlay = client.predict(
        handle_file(str(samples["cat"])), "gradcam", {}, name, "espresso", False, "auto", api_name="/explain"
    )
    assert (data["class"], data["label"]) == (1, "espresso") and "1: espresso" in info
    assert data["backbone"] == "tf_efficientnet_lite0 (three.safetensors)" and "file three.safetensors" in info


def test_compare_takes_the_upload_beside_the_stock_model(client, uploaded, samples):
    name, _status = uploaded
    _figure, summary, _files, cells = _compare(client, samples["coffee"], [name, "tf_efficientnet_lite0"])
    assert "predicts 1: espresso" in summary and "predicts 967: espresso" in summary
    assert {cell["backbone"] for cell in cells} == {
        "tf_efficientnet_lite0 (three.safetensors)",
        "tf_efficientnet_lite0",
    }


def test_another_client_never_sees_the_upload(app_server, uploaded):
    name, _status = uploaded
    other = Client(app_server.url, verbose=False)
    config = str(other.config)
    assert name not in config and name.removeprefix("upload:") not in config


def test_pickles_oversize_files_and_wrong_shapes_are_refused_in_a_sentence(client, saved, samples, tmp_path):
    torch.save({"w": torch.zeros(2)}, tmp_path / "model.pth")
    message = _refused(client, [handle_file(str(tmp_path / "model.pth"))], "resnet18", api_name="/upload_model")
    assert "model.pth: .pth, .pt, .bin and .ckpt files are pickles" in message and "safetensors" in message
    _still_serves(client, samples)
    message = _refused(client, [handle_file(str(saved["safetensors"]))], "resnet18", api_name="/upload_model")
    assert "is not a checkpoint of resnet18" in message and "/" not in message.split("resnet18")[0]
    (tmp_path / "fake.safetensors").write_bytes(b"not really")
    message = _refused(client, [handle_file(str(tmp_path / "fake.safetensors"))], "resnet18", api_name="/upload_model")
    assert "fake.safetensors is not a safetensors file" in message
    message = _refused(client, [handle_file(str(saved["safetensors"]))], "", api_name="/upload_model")
    assert "Say which timm architecture the checkpoint is" in message
    _still_serves(client, samples)


def test_an_upload_over_the_size_limit_is_refused(strict_server, saved, samples):
    small = Client(strict_server.url, verbose=False)  # CNNLENS_MAX_MODEL_UPLOAD_MB=1 there
    message = _refused(small, [handle_file(str(saved["safetensors"]))], "", api_name="/upload_model")
    assert "this server takes models up to 1 MB (CNNLENS_MAX_MODEL_UPLOAD_MB)" in message
    _still_serves(small, samples)


def test_a_file_over_the_upload_cap_is_stopped_as_it_arrives(strict_server, samples, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(samples["cat"].read_bytes() + bytes(21 * 2**20))  # CNNLENS_MAX_UPLOAD_MB=20 there
    with httpx.Client(base_url=strict_server.url, timeout=60) as http:
        reply = http.post("gradio_api/upload", files={"files": ("big.png", big.read_bytes())})
    assert reply.status_code == 413 and f"maximum allowed size of {20 * 2**20} bytes" in reply.text
    small = Client(strict_server.url, verbose=False)
    with pytest.raises(ValueError, match="exceeds the maximum file size of 20971520 bytes"):  # the client checks first
        small.predict(handle_file(str(big)), api_name="/predict")
    _still_serves(small, samples)


def test_a_client_cannot_name_a_folder_on_the_server(client, saved, samples, tmp_path):
    for name in (f"local-dir:{saved['hf']}", "local-dir:/etc", f"local-dir:{tmp_path}/nothing"):
        message = _refused(client, handle_file(str(samples["cat"])), name, False, api_name="/predict")
        assert "loads models from the server only from folders its operator lists" in message
        assert "/etc" not in message and str(tmp_path) not in message and str(saved["hf"]) not in message
    with pytest.raises(AppError, match="folders its operator lists"):
        _compare(client, samples["cat"], [f"local-dir:{saved['hf']}"])
    _still_serves(client, samples)


def test_a_stale_token_says_to_upload_again(client, samples):
    message = _refused(
        client, handle_file(str(samples["cat"])), "upload:not-a-token-of-anyone", False, api_name="/predict"
    )
    assert "no longer on the server" in message and "upload it again" in message


def test_a_binary_upload_has_two_classes_to_explain(client, saved, samples, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("tiger cat\n")
    name, status = client.predict(
        [handle_file(str(saved["binary"])), handle_file(str(labels))], "tf_efficientnet_lite0", api_name="/upload_model"
    )
    assert "2 classes (not tiger cat, tiger cat)" in status and "one logit z" in status
    top = client.predict(handle_file(str(samples["cat"])), name, False, api_name="/predict")
    assert top["label"] == "1: tiger cat"
    *_pictures, data, _raw, _overlay = client.predict(
        handle_file(str(samples["cat"])), "gradcam", {}, name, "not tiger cat", False, "auto", api_name="/explain"
    )
    assert (data["class"], data["label"]) == (0, "not tiger cat")


def test_the_readme_upload_sample_runs_against_the_app(client, saved, samples, tmp_path, monkeypatch):
    import shutil

    from tests.test_readme import code_blocks

    block = next(block for block in code_blocks("python") if "/upload_model" in block)
    shutil.copy(saved["safetensors"], tmp_path / "three.safetensors")
    shutil.copy(saved["labels"], tmp_path / "labels.txt")
    (tmp_path / "examples").mkdir()
    shutil.copy(samples["coffee"], tmp_path / "examples" / "coffee.png")
    monkeypatch.chdir(tmp_path)
    namespace = {"client": client, "handle_file": handle_file}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["name"].startswith("upload:") and "3 classes" in namespace["note"]


@pytest.mark.parametrize(
    "config,words",
    [
        ({"architecture": ["test_resnet"]}, "The architecture in config.json must be one timm model name"),
        ({"pretrained_cfg": {"mean": ["nan", "x", 1]}}, "mean must be 1 or 3 finite numbers; got ['nan', 'x', 1]"),
        ({"architecture": "y" * 10_000}, "(10,000 characters) is not a timm model"),
        ("[" * 100_000 + "]" * 100_000, "config.json is not valid JSON"),
    ],
    ids=["architecture-list", "mean-text", "architecture-long", "nested-deep"],
)
def test_a_hostile_config_is_refused_in_a_sentence(client, saved, samples, tmp_path, config, words):
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    files = [handle_file(str(saved["safetensors"])), handle_file(str(folder / "config.json"))]
    message = _refused(client, files, "tf_efficientnet_lite0", api_name="/upload_model")
    assert words in message and len(message) < 400
    _still_serves(client, samples)
