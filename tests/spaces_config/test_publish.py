"""The Space gets exactly what it needs: the app's code, README, requirements and pictures."""

import subprocess
import sys

from spaces_config.publish import space_files
from tests.conftest import ROOT


def test_dry_run_lists_the_space_files_and_nothing_else():
    out = subprocess.run(
        [sys.executable, "-m", "spaces_config.publish", "--repo", "someone/cnn-lens", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    listed = [line.split()[-1] for line in out.stdout.strip().splitlines()[:-1]]
    assert {
        "README.md",
        "requirements.txt",
        "app/__main__.py",
        "registry/analysis/_compare.py",
        "plugins/gradcam.py",
        "spaces_config/zerogpu.py",
        "examples/cat.png",
        "docs/comparison.png",
    } <= set(listed)
    assert not [
        name
        for name in listed
        if name.startswith(("tests/", "benchmarks/", "scripts/", "templates/", "."))
        or "__pycache__" in name
        or name.endswith((".pyc", ".pyi"))
    ]
    assert out.stdout.strip().splitlines()[-1].endswith(f"total, {len(listed)} files")


def test_every_module_the_app_imports_is_uploaded():
    uploaded = {path.as_posix() for path in space_files()}
    for package in ("app", "registry", "plugins", "spaces_config"):
        for module in (ROOT / package).glob("*.py"):
            assert f"{package}/{module.name}" in uploaded
    images = [name for name in uploaded if name.startswith("docs/")]
    readme = (ROOT / "README.md").read_text()
    assert all(name in readme for name in images), "upload only the pictures the README shows"
