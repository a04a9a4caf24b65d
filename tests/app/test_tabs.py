"""The list of tabs (app/tabs.py): each tab a module with one `build(page)`; app/ui.py names none of them, so adding a
tab is one new module and one line in the list."""

from __future__ import annotations

import ast
import inspect
import types

import gradio as gr
import pytest

from app import tabs
from app.page import Results, TabParts
from app.ui import build_app
from tests.conftest import ROOT


def _named(source: str) -> set[str]:
    """Every module imported and every name or attribute used in `source`."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names} | {alias.asname for alias in node.names if alias.asname}
        elif isinstance(node, ast.ImportFrom):
            named |= {node.module or ""} | {alias.name for alias in node.names}
            named |= {f"{node.module}.{alias.name}" for alias in node.names}
            named |= {alias.asname for alias in node.names if alias.asname}
        elif isinstance(node, ast.Name):
            named.add(node.id)
        elif isinstance(node, ast.Attribute):
            named.add(node.attr)
    return named


def _tab_modules_named(source: str) -> list[str]:
    named = _named(source)
    return [tab.__name__ for tab in tabs.TABS if {tab.__name__, tab.__name__.rpartition(".")[2]} & named]


def test_ui_names_no_tab_module():
    assert _tab_modules_named((ROOT / "app" / "ui.py").read_text()) == []


@pytest.mark.parametrize(
    "line",
    [
        "from app.learn_tab import build",
        "from app import compare_tab",
        "import app.method_tabs",
        "parts = app.plugins_tab.build(page)",
        "from app.evaluate_tab import build as evaluate",
    ],
)
def test_the_check_sees_each_way_of_naming_one(line):
    assert _tab_modules_named(line), line


def test_every_tab_is_a_module_with_one_build():
    assert len(set(tabs.TABS)) == len(tabs.TABS)
    for tab in tabs.TABS:
        assert isinstance(tab, types.ModuleType) and list(inspect.signature(tab.build).parameters) == ["page"], tab


def test_a_new_tab_is_one_module_and_one_line(monkeypatch):
    """A module appended to the list is laid out after the others, and its result follows the page's one rule for
    stale results (a new image, the class, its own control) with nothing else written for it."""

    def build(page) -> TabParts:
        with gr.Tab("Extra", id="extra", elem_id="tab-extra"):
            knob = gr.Slider(label="Extra knob", elem_id="extra-knob")
            shown = gr.Markdown(elem_id="extra-result")
        return TabParts(results=(Results(shown=(shown,), reads=(page.image, page.target, knob)),))

    extra = types.ModuleType("extra_tab")
    extra.build = build
    monkeypatch.setattr(tabs, "TABS", (*tabs.TABS, extra))
    demo = build_app()
    outer = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "tabs")
    assert [child.label for child in outer.children][-1] == "Extra"
    ids = {getattr(block, "elem_id", None): block_id for block_id, block in demo.blocks.items()}
    emptying = {
        (block, event)
        for fn in demo.fns.values()
        if ids["extra-result"] in [output._id for output in fn.outputs] and not fn.inputs
        for block, event in fn.targets
    }
    assert {(ids["input-image"], "input"), (ids["target"], "input"), (ids["extra-knob"], "change")} <= emptying
    assert (ids["backbone"], "change") not in emptying  # it did not read the backbone
