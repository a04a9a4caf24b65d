"""The README is the user's door: its Spaces header, commands and code samples must stay true."""

import re

import gradio
import pytest
from huggingface_hub import SpaceCard

import registry
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_spaces_front_matter_is_valid_and_matches_requirements():
    card = SpaceCard.load(ROOT / "README.md")
    assert card.data.sdk == "gradio"
    pinned = re.search(r"^gradio==([\d.]+)$", (ROOT / "requirements.txt").read_text(), flags=re.M).group(1)
    assert card.data.sdk_version == pinned == gradio.__version__
    assert (ROOT / card.data.app_file).is_file()
    assert len(card.data.short_description) <= 60
    for shot in ("screenshot.png", "learn.png", "live.png"):
        assert (ROOT / "docs" / shot).is_file() and f"docs/{shot}" in README, shot


def test_the_two_commands_are_what_ci_runs():
    """CI runs the README's test command line by line, and installs the test requirements once."""
    commands = [block.strip().splitlines() for block in code_blocks("bash")[:2]]
    assert commands == [
        ["pip install -r requirements.txt && python -m app"],
        ["pip install -r requirements-test.txt", "ruff check . && ruff format --check . && python -m pytest"],
    ]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    run = [line for line in ci if line in commands[1]]
    assert run == commands[1]
    assert [line for line in ci if line.startswith("pip install")] == [commands[1][0]]


def test_python_api_sample_runs_and_its_comment_is_true(monkeypatch):
    monkeypatch.chdir(ROOT)
    api = next(block for block in code_blocks("python") if 'backbone.predict("examples/cat.png", k=3)' in block)
    namespace: dict = {}
    exec(compile(api, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    documented = [int(i) for i in re.findall(r"\((\d+), '", api)]
    assert [index for index, *_ in namespace["backbone"].predict("examples/cat.png", k=3)] == documented
    assert namespace["result"].label == "Egyptian cat" and namespace["result"].heatmap.shape == (224, 224)


def test_plugin_sample_is_a_working_plugin(tmp_path, monkeypatch, lite0, samples):
    sample = next(block for block in code_blocks("python") if "class GradientNorm" in block)
    (tmp_path / "gradient_norm.py").write_text(sample)
    monkeypatch.setenv("CNNLENS_PLUGIN_PATH", str(tmp_path))
    try:
        registry.reload_plugins()
        assert registry.load_errors() == []
        result = registry.get_plugin("gradient_norm").run(lite0, samples["coffee"], norm="max")
        assert result.target == 967 and result.heatmap.shape == (224, 224) and result.heatmap.max() == 1.0
    finally:
        monkeypatch.undo()
        registry.reload_plugins()


def test_evaluate_sample_runs_and_its_comment_is_true():
    sample = next(block for block in code_blocks("python") if "registry.EvaluationProtocol(" in block)
    namespace: dict = {}
    exec(compile(sample, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    result = namespace["result"]
    assert len(result.rows) == 7 and not result.errors
    assert result.mean("pointing_game", method="gradcam") == 6 / 7
    assert "0.86: six of the seven maps" in sample


def test_the_extras_are_declared_once_and_installed_for_the_tests():
    """requirements.txt is pyproject's core `dependencies`; requirements-test.txt adds every extra's packages."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def lines(name: str) -> list[str]:
        text = (ROOT / name).read_text()
        return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]

    assert lines("requirements.txt") == project["dependencies"]
    extras = project["optional-dependencies"]
    assert set(extras) == {"evaluate", "ray"} and set(extras["evaluate"]) < set(extras["ray"])
    assert lines("requirements-test.txt")[0] == "-r requirements.txt"
    assert set(extras["ray"]) <= set(lines("requirements-test.txt"))
    assert not {"pyarrow", "tqdm", "ray"} & {re.split(r"[<>=\[]", line)[0] for line in lines("requirements.txt")}


def test_entry_point_group_in_readme_is_the_one_discovered():
    assert f'[project.entry-points."{registry.ENTRY_POINT_GROUP}"]' in README


def test_compare_sample_runs_and_draws_the_grid(tmp_path, monkeypatch):
    sample = next(block for block in code_blocks("python") if "registry.compare(" in block)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(sample, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    comparison = namespace["comparison"]
    assert len(comparison.cells) == 9 and all(cell.error is None for cell in comparison.cells)
    assert (tmp_path / "comparison.png").is_file() and "docs/comparison.png" in README


def test_own_model_sample_runs_on_files_made_as_it_names_them(tmp_path, monkeypatch, samples):
    """The "Your own model" block, run where its files exist: a 3-class resnet18 checkpoint (random weights, seed 0:
    the block shows the calls, tests/registry/models judge behaviour), its labels and a scan. The Hub line needs the
    network, so here its name is only validated."""
    import shutil

    import timm
    import torch
    from safetensors.torch import save_file

    block = next(block for block in code_blocks("python") if "registry.wrap_model" in block)
    torch.manual_seed(0)
    save_file(timm.create_model("resnet18", num_classes=3).state_dict(), str(tmp_path / "xray.safetensors"))
    (tmp_path / "labels.txt").write_text("normal\npneumonia\neffusion\n")
    shutil.copy(samples["camera-gray"], tmp_path / "scan.png")
    monkeypatch.chdir(tmp_path)
    hub = [line for line in block.splitlines() if "hf-hub:" in line]
    assert len(hub) == 1
    registry.validate_name(re.search(r'"(hf-hub:[^"]+)"', hub[0]).group(1))
    namespace: dict = {}
    exec(compile(block.replace(hub[0], ""), "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["mine"].labels == ["normal", "pneumonia", "effusion"] and namespace["net"].num_classes == 3
    result = registry.get_plugin("gradcam").run(namespace["mine"], "scan.png", target="pneumonia")
    assert (result.target, result.label) == (1, "pneumonia")
