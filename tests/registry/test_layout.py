"""The registry's rooms import in one direction: a room imports only the rooms below it, never the app.

Read from the source with `ast`, so the test fails on the import itself, before anything runs.
"""

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

REGISTRY = ROOT / "registry"
# Lowest first. settings (the environment, read in one place) is below all, then storage (the files the server
# writes, bounded); imaging and models are the two low
# rooms; models may use imaging (it decodes what it prepares). audit reads evaluation's maps and rows;
# video explains a video's frames through evaluation's batched pass.
ROOMS = ("settings", "storage", "imaging", "models", "methods", "analysis", "evaluation", "audit", "video", "teaching")
TOP = len(
    ROOMS
)  # registry/__init__.py, the public surface, and registry/testing.py, the contract suite: above every room
TOP_MODULES = ("__init__.py", "testing.py")
MODULES = sorted(REGISTRY.rglob("*.py"))


def _room(path: Path) -> int:
    parts = path.relative_to(REGISTRY).parts
    return ROOMS.index(parts[0]) if len(parts) > 1 else TOP


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in `path`, `from registry.x import y` also as registry.x.y."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _target_room(module: str) -> int | None:
    """The room a dotted name lies in; None when it is not inside a room (a third-party module)."""
    parts = module.split(".")
    if parts[0] != "registry":
        return None
    if len(parts) == 1:
        return TOP
    return ROOMS.index(parts[1]) if parts[1] in ROOMS else None


def test_every_module_lives_in_a_room():
    loose = [path.name for path in REGISTRY.glob("*.py") if path.name not in TOP_MODULES]
    assert loose == [], f"put these in a room ({', '.join(ROOMS)}): {loose}"
    assert {path.relative_to(REGISTRY).parts[0] for path in MODULES if path.parent != REGISTRY} == set(ROOMS)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(REGISTRY)))
def test_imports_go_down_only(path):
    own = _room(path)
    wrong = []
    for line, module in _imports(path):
        if module.split(".")[0] == "app":
            wrong.append(f"line {line}: {module} (the registry must not know about the app)")
        room = _target_room(module)
        if room is not None and room > own:
            names = ROOMS + ("registry",)
            wrong.append(f"line {line}: {module} ({names[own]} is below {names[room]})")
    assert not wrong, f"{path.relative_to(ROOT)} imports upwards:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if not p.name.startswith("_") or p.name == "__init__.py"],
    ids=lambda path: str(path.relative_to(REGISTRY)),
)
def test_public_modules_declare_a_sorted_all(path):
    """Every public module says what it exports, sorted as isort sorts (constants, classes, functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = next(
        (
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        ),
        None,
    )
    assert declared is not None, f"{path.relative_to(ROOT)} has no __all__"
    names = [element.value for element in declared.elts]
    kind = lambda name: 0 if name.isupper() else 1 if name[:1].isupper() else 2  # noqa: E731
    assert names == sorted(names, key=lambda name: (kind(name), name)), f"{path.relative_to(ROOT)}: unsorted __all__"
    assert len(set(names)) == len(names)


def test_outside_code_reaches_no_private_module():
    """The app, plugins, benchmarks and scripts import public names only; tests of machinery may go deeper."""
    wrong = []
    for folder in ("app", "plugins", "scripts", "spaces_config", "templates"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, module in _imports(path):
                if module.startswith("registry") and any(part.startswith("_") for part in module.split(".")):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert not wrong, "\n".join(wrong)
