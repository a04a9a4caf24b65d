"""CNN Lens as a distribution, and a plugin package built from the template, in a fresh virtualenv.

No network: the virtualenv sees this interpreter's packages (torch, gradio, …) and both packages
install with --no-deps --no-build-isolation, as a plugin author's CI would after `pip install`.
It works whether the tests run on a system Python or inside a virtualenv (as most users run them).
"""

import json
import shutil
import site
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.app.support import running_app
from tests.conftest import ROOT

pytestmark = [pytest.mark.install, pytest.mark.server]
LEFT_OUT = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", "*.pyi", "build", "*.egg-info", ".pytest_cache", ".gradio", "tests", "benchmarks"
)


def run(*command, cwd: Path, timeout: int = 600) -> str:
    out = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(map(str, command))} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtualenv with cnn-lens (built as a wheel from a copy of the sources) and the template plugin."""
    work = tmp_path_factory.mktemp("install")
    source = work / "cnn-lens"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    template = work / "plugin"
    shutil.copytree(ROOT / "templates" / "cnnlens-plugin", template)
    for package in (source, template):  # wheels built by this interpreter's setuptools, offline
        run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            work / "dist",
            package,
            cwd=work,
        )
    run(sys.executable, "-m", "venv", "--without-pip", work / "venv", cwd=work)
    share_packages(work / "venv" / "bin" / "python")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        work / "venv" / "bin" / "python",
        "install",
        "--no-deps",
        *sorted((work / "dist").glob("*.whl")),
        cwd=work,
    )
    return work


def share_packages(python: Path) -> None:
    """Let a new virtualenv import this interpreter's packages, after its own.

    Not `--system-site-packages`: run from inside a virtualenv, that exposes the *base* interpreter's
    packages, not this environment's, and the installed wheel could not import timm or gradio.
    """
    inner = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=python.parent).strip()
    outer = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(inner) / "_cnnlens_test_packages.pth").write_text("".join(f"{path}\n" for path in outer))


def test_the_wheel_holds_the_app_its_plugins_and_samples(venv):
    python = venv / "venv" / "bin" / "python"
    probe = (
        "import json, app, registry, registry.imaging.samples; "
        "print(json.dumps({'app': app.__file__, 'plugins': [p.name for p in registry.list_plugins()], "
        "'examples': sorted(p.name for p in registry.imaging.samples.EXAMPLES.iterdir())}))"
    )
    found = json.loads(run(python, "-c", probe, cwd=venv).strip().splitlines()[-1])
    assert "site-packages" in found["app"] and str(ROOT) not in found["app"]
    assert {"feature_maps", "gradcam", "saliency", "activation_energy"} <= set(found["plugins"])
    assert "cat.png" in found["examples"]


def test_the_template_passes_its_own_contract_tests(venv):
    tests = venv / "plugin" / "tests"
    output = run(
        venv / "venv" / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", tests, cwd=venv / "plugin"
    )
    assert " passed" in output and "failed" not in output


def test_the_installed_app_serves_the_template_plugin(venv):
    cat = ROOT / "examples" / "cat.png"
    with running_app(
        command=[str(venv / "venv" / "bin" / "cnnlens")], cwd=venv, extra_env={"CNNLENS_DEVICE": "cpu"}
    ) as server:
        config = json.loads(urllib.request.urlopen(server.url + "config", timeout=30).read())
        client = Client(server.url, verbose=False)
        main, _, info, *_ = client.predict(image=handle_file(str(cat)), layer="blocks.3", api_name="/activation_energy")
    labels = {c.get("props", {}).get("label") for c in config["components"]}
    assert "Activation energy" in labels  # its tab was built from the registry
    assert Image.open(main).width == 448 and "`blocks.3`" in info
