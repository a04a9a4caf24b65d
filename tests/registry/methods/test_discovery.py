"""Plugin discovery: built-in folder, extra folders, entry points; failures become load errors."""

import sys
from pathlib import Path

import pytest

import registry
from app.ui import build_app
from tests.conftest import ROOT

GOOD = """
import torch
from registry import Context, Param, Plugin


class {cls}(Plugin):
    name = "{name}"
    title = "{title}"
    description = "Mean of the input colours: a test plugin."
    needs_target = False
    output = "heatmap"
    params = (Param("gain", "float", 1.0, minimum=0.0, maximum=2.0),)

    def compute(self, ctx: Context):
        return ctx.x[0].mean(0) * ctx.params["gain"]
"""


def write_plugin(folder: Path, stem: str, name: str, title: str | None = None) -> Path:
    path = folder / f"{stem}.py"
    path.write_text(GOOD.format(cls=stem.title().replace("_", ""), name=name, title=title or name.title()))
    return path


@pytest.fixture(autouse=True)
def fresh_catalog(monkeypatch):
    for variable in ("CNNLENS_PLUGIN_PATH", "CNNLENS_DISABLE_PLUGINS", "CNNLENS_DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(variable, raising=False)
    yield
    monkeypatch.undo()
    registry.reload_plugins()


def test_builtin_plugins_are_found():
    names = [plugin.name for plugin in registry.list_plugins()]
    assert {"feature_maps", "gradcam", "saliency"} <= set(names)
    assert registry.load_errors() == []
    assert registry.get_plugin("gradcam").source == "plugins/gradcam.py"
    with pytest.raises(KeyError, match="no method called 'nope'"):
        registry.get_plugin("nope")


def test_extra_folders_are_searched_in_order(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    write_plugin(first, "brightness", "brightness")
    write_plugin(second, "brightness", "brightness_again")  # same file name, other folder
    monkeypatch.setenv("CNNLENS_PLUGIN_PATH", f"{first}{__import__('os').pathsep}{second}")
    registry.reload_plugins()
    plugin = registry.get_plugin("brightness")
    assert plugin.source == str(first / "brightness.py")
    assert registry.get_plugin("brightness_again").source == str(second / "brightness.py")


def test_broken_and_invalid_plugins_become_load_errors(tmp_path, monkeypatch, lite0, samples):
    (tmp_path / "syntax.py").write_text("def broken(:\n")
    (tmp_path / "crash.py").write_text("raise RuntimeError('no GPU driver found')\n")
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "bad_param.py").write_text(
        GOOD.format(cls="BadParam", name="bad_param", title="Bad").replace(
            'Param("gain", "float", 1.0, minimum=0.0, maximum=2.0)',
            'Param("gain", "float", 5.0, minimum=0.0, maximum=2.0)',
        )
    )
    (tmp_path / "no_title.py").write_text(GOOD.format(cls="NoTitle", name="no_title", title=""))
    (tmp_path / "bad_name.py").write_text(GOOD.format(cls="BadName", name="Bad Name", title="Bad"))
    write_plugin(tmp_path, "dup", "gradcam", "Another Grad-CAM")
    write_plugin(tmp_path, "fine", "fine")
    monkeypatch.setenv("CNNLENS_PLUGIN_PATH", str(tmp_path))
    registry.reload_plugins()

    errors = {Path(error.source.split(" ")[0]).stem: error.message for error in registry.load_errors()}
    assert "SyntaxError" in errors["syntax"]
    assert "no GPU driver found" in errors["crash"]
    assert errors["crash"].endswith(
        "(at crash.py:1: raise RuntimeError('no GPU driver found'))"
    )  # the plugin's own line
    assert "(at syntax.py:1: def broken(:)" in errors["syntax"]
    assert "SystemExit" in errors["exits"]
    assert "defines no Plugin subclass" in errors["empty"]
    assert "bad default" in errors["bad_param"]
    assert "has no title" in errors["no_title"]
    assert "lower-case" in errors["bad_name"]
    assert "duplicate plugin name 'gradcam'" in errors["dup"] and "plugins/gradcam.py" in errors["dup"]
    assert len(errors) == 8
    assert registry.get_plugin("gradcam").source == "plugins/gradcam.py"  # the first one wins
    result = registry.get_plugin("fine").run(lite0, samples["cat"], gain=0.5)
    assert result.heatmap.shape == (224, 224)

    demo = build_app()  # the app still builds, and shows the errors in its Plugins tab
    text = " ".join(str(getattr(block, "value", "")) for block in demo.blocks.values())
    assert "Plugins that failed to load" in text and "no GPU driver found" in text


def test_entry_point_plugins_are_discovered(tmp_path, monkeypatch):
    package = tmp_path / "cnnlens_demo_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(GOOD.format(cls="Demo", name="demo_ep", title="Demo"))
    info = tmp_path / "cnnlens_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cnnlens-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[cnnlens.plugins]\ndemo = cnnlens_demo_plugin:Demo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.reload_plugins()
    plugin = registry.get_plugin("demo_ep")
    assert plugin.source.startswith("entry point demo = cnnlens_demo_plugin:Demo")
    assert "cnnlens-demo-plugin" in plugin.source

    monkeypatch.setenv("CNNLENS_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry.reload_plugins()
    assert "demo_ep" not in [p.name for p in registry.list_plugins()]
    monkeypatch.delitem(sys.modules, "cnnlens_demo_plugin", raising=False)


def test_plugins_can_be_disabled_by_name(monkeypatch):
    monkeypatch.setenv("CNNLENS_DISABLE_PLUGINS", "saliency, feature_maps")
    catalog = registry.reload_plugins()
    names = [p.name for p in registry.list_plugins()]
    assert "gradcam" in names and not {"saliency", "feature_maps"} & set(names)
    assert sorted(catalog.disabled) == ["feature_maps", "saliency"]


def test_dropping_a_file_into_plugins_adds_a_tab():
    path = ROOT / "plugins" / "zz_dropin_brightness.py"
    write_plugin(path.parent, path.stem, "dropin_brightness", "Drop-in brightness")
    try:
        registry.reload_plugins()
        assert registry.get_plugin("dropin_brightness").source == "plugins/zz_dropin_brightness.py"
        demo = build_app()
        api_names = {dependency.api_name for dependency in demo.fns.values()}
        assert {"dropin_brightness", "gradcam", "saliency", "feature_maps", "predict"} <= api_names
        tabs = {block.label for block in demo.blocks.values() if type(block).__name__ == "Tab"}
        assert "Drop-in brightness" in tabs
        labels = {getattr(block, "label", None) for block in demo.blocks.values()}
        assert "Gain" in labels  # its declared parameter became a control
    finally:
        path.unlink()
        sys.modules.pop("plugins.zz_dropin_brightness", None)


VERSIONED = """
from registry import Plugin


class Versioned(Plugin):
    name = "versioned_{tag}"
    title = "Versioned {tag}"
    description = "A plugin that declares the plugin API version it was written for."
    output = "heatmap"
    api_version = "{version}"

    def compute(self, ctx):
        return ctx.x[0].mean(0)
"""


def test_plugin_api_versions_incompatible_refused_newer_minor_warned(tmp_path, monkeypatch):
    major = int(registry.API_VERSION.split(".")[0])
    minor = int(registry.API_VERSION.split(".")[1])
    for tag, version in [("old", f"{major}.0"), ("future", f"{major + 1}.0"), ("newer", f"{major}.{minor + 1}")]:
        (tmp_path / f"versioned_{tag}.py").write_text(VERSIONED.format(tag=tag, version=version))
    monkeypatch.setenv("CNNLENS_PLUGIN_PATH", str(tmp_path))
    catalog = registry.reload_plugins()
    assert {"versioned_old", "versioned_newer"} <= set(catalog.plugins) and "versioned_future" not in catalog.plugins
    refused = next(error for error in catalog.errors if "versioned_future" in error.source)
    assert f"needs plugin API {major + 1}.0; this CNN Lens provides {registry.API_VERSION}" in refused.message
    assert [w.message for w in catalog.warnings if "versioned_newer" in w.source][0].startswith(
        f"plugin 'versioned_newer' was written for plugin API {major}.{minor + 1}, newer than"
    )
    report = __import__("app.plugins_tab", fromlist=["plugins_report"]).plugins_report()
    assert "### Warnings" in report and "needs plugin API" in report and str(tmp_path) not in report
