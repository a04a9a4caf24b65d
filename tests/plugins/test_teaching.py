"""Teaching text: every built-in plugin says how to read its map and how it misleads; the app shows it."""

from pathlib import Path

import pytest

import registry
from app.teaching import build_teaching_section, teaching_markdown
from registry import Plugin, PluginSpecError

BUILT_IN = [plugin for plugin in registry.list_plugins() if plugin.source.startswith("plugins/")]


def test_every_built_in_plugin_loads_and_teaches():
    files = [path for path in (Path(registry.__file__).parents[1] / "plugins").glob("*.py") if path.stem != "__init__"]
    assert len(BUILT_IN) == len(files) >= 19


@pytest.mark.parametrize("plugin", BUILT_IN, ids=lambda plugin: plugin.name)
def test_each_built_in_plugin_says_how_to_read_it_and_its_pitfalls(plugin):
    for text in (plugin.how_to_read, plugin.pitfalls):
        assert len(text) > 80 and text.count(".") >= 1 and text != plugin.description
    assert plugin.how_to_read != plugin.pitfalls
    section = teaching_markdown(plugin)
    assert section.startswith("**How to read this map.**") and "**Common pitfalls.**" in section


class Quiet(Plugin):
    name = "quiet"
    title = "Quiet"
    description = "A plugin with no teaching text."

    def compute(self, ctx):
        return ctx.x[0, 0]


def test_teaching_text_is_optional_but_must_be_text():
    Quiet().validate()
    assert teaching_markdown(Quiet()) == "" and build_teaching_section(Quiet()) is None

    class Wrong(Quiet):
        pitfalls = ["a list"]

    with pytest.raises(PluginSpecError, match="pitfalls must be a string"):
        Wrong().validate()
