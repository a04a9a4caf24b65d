"""The settings room: every CNNLENS_* variable declared once, parsed strictly, read nowhere else, documented."""

from __future__ import annotations

import ast
import os
import re
import sys

import pytest

from registry import settings
from registry.settings import SETTINGS, Setting, SettingError
from tests.conftest import ROOT

# Code that may not read the environment's CNNLENS_* names itself (tests set them for the processes they start).
READERS = ("app", "registry", "plugins", "spaces_config", "scripts", "benchmarks", "templates", "testkit")


@pytest.mark.parametrize(
    ("setting", "raw", "expected"),
    [
        (Setting("X", "int", 2, "", minimum=1), " 5 ", 5),
        (Setting("X", "float", 1.0, "", minimum=0, above=True), "0.5", 0.5),
        (Setting("X", "bool", True, ""), "off", False),
        (Setting("X", "bool", None, ""), "Yes", True),
        (Setting("X", "list", [], ""), " a, ,b ", ["a", "b"]),
        (Setting("X", "list", [], "", separator=os.pathsep), f"/x{os.pathsep}/y", ["/x", "/y"]),
        (Setting("X", "int", 2, ""), "", 2),  # set but blank: the default
    ],
)
def test_values_parse_by_kind(monkeypatch, setting, raw, expected):
    assert setting.read({"X": raw}) == expected


@pytest.mark.parametrize(
    ("setting", "raw", "words"),
    [
        (Setting("X", "int", 2, "", minimum=1), "two", "a whole number, at least 1"),
        (Setting("X", "int", 2, "", minimum=1), "0", "at least 1"),
        (Setting("X", "int", 2, "", minimum=1, maximum=64), "65", "at most 64"),
        (Setting("X", "float", 1.0, "", minimum=0, above=True), "0", "above 0"),
        (Setting("X", "float", 1.0, "", minimum=0, above=True), "nan", "a number, above 0"),
        (Setting("X", "bool", True, ""), "maybe", "1 or 0"),
        (SETTINGS["CNNLENS_DEVICE"], "gpu", "cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_bad_value_is_a_sentence_naming_the_setting_never_a_default(setting, raw, words):
    with pytest.raises(SettingError) as refused:
        setting.read({setting.name: raw})
    assert setting.name in str(refused.value) and words in str(refused.value) and "default" in str(refused.value)


def test_a_long_bad_value_is_quoted_short():
    with pytest.raises(SettingError) as refused:
        SETTINGS["CNNLENS_MAX_MODELS"].read({"CNNLENS_MAX_MODELS": "9" * 10_000 + "x"})
    assert len(str(refused.value)) < 300 and "10001 characters" in str(refused.value)


def test_check_all_lists_every_bad_value_and_passes_the_defaults():
    settings.check_all({})
    with pytest.raises(SettingError) as refused:
        settings.check_all({"CNNLENS_TIME_BUDGET": "-1", "CNNLENS_PREWARM": "sometimes", "CNNLENS_MAX_MODELS": "3"})
    assert "CNNLENS_TIME_BUDGET" in str(refused.value) and "CNNLENS_PREWARM" in str(refused.value)
    assert "CNNLENS_MAX_MODELS" not in str(refused.value)


def test_the_server_refuses_to_start_with_a_bad_setting(monkeypatch):
    """`python -m app` reads every setting before it builds anything: an operator's typo is a sentence, at once."""
    from app.__main__ import main

    monkeypatch.setenv("CNNLENS_REQUEST_BUDGET", "five minutes")
    monkeypatch.setattr(sys, "argv", ["cnnlens"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert "CNNLENS_REQUEST_BUDGET is 'five minutes', but it takes a number, above 0" in str(stopped.value.code)


def _reads(path) -> list[str]:
    """`file:line` of every read of a CNNLENS_* variable from the environment in `path` (get, getenv, [], in)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        keys = []
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("get", "getenv"):
            keys = node.args[:1]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            keys = [node.slice]
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            keys = [node.left]
        if any(isinstance(key, ast.Constant) and str(key.value).startswith("CNNLENS_") for key in keys):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_but_the_settings_room_reads_a_cnnlens_variable():
    paths = [path for folder in READERS for path in sorted((ROOT / folder).rglob("*.py"))]
    own = ROOT / "registry" / "settings"
    wrong = [read for path in paths if own not in path.parents for read in _reads(path)]
    assert not wrong, "read these through registry.settings.value(...):\n" + "\n".join(wrong)
    assert _reads(ROOT / "tests" / "app" / "conftest.py"), "the scan must find a read where there is one"


def test_every_setting_the_code_names_is_declared():
    named = set()
    for folder in READERS:
        for path in (ROOT / folder).rglob("*.py"):
            named |= set(re.findall(r"value\(\"(CNNLENS_[A-Z_]+)\"\)", path.read_text(encoding="utf-8")))
    assert named and named <= set(SETTINGS), sorted(named - set(SETTINGS))
    assert set(SETTINGS) <= named, f"declared but never read: {sorted(set(SETTINGS) - named)}"


def test_the_readme_table_is_the_declarations():
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"\| `(CNNLENS_[A-Z_]+)` \| (.+) \| (.+) \|", line):
            rows[match[1]] = (match[2], match[3])
    assert list(rows) == list(SETTINGS), "the README's settings table lists the declared settings, in their order"
    for name, setting in SETTINGS.items():
        assert rows[name] == (setting.help, setting.default_text()), name
