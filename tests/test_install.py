"""CNN Lens as a distribution, and a plugin package built from the template, in a fresh virtualenv.

No network: the virtualenv sees this interpreter's packages (torch, gradio, …) and both packages
install with --no-deps --no-build-isolation, as a plugin author's CI would after `pip install`.
It works whether the tests run on a system Python or inside a virtualenv (as most users run them).
The extras' packages (pyarrow, Ray) are blocked there, as if not installed: what a Space has from
requirements.txt alone (a real fresh install of it is measured in benchmarks/RESULTS.md, "Install").
"""

import json
import shutil
import site
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from PIL import Image

import registry
from app import evaluate_tab
from testkit.api import explain
from testkit.server import running_app
from tests.conftest import ROOT

pytestmark = [pytest.mark.install, pytest.mark.server]
EXTRAS = ("pyarrow", "ray")  # what the core install leaves to `cnn-lens[evaluate]` and `cnn-lens[ray]`
LEFT_OUT = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    "*.pyc",
    "*.pyi",
    "build",
    "*.egg-info",
    ".pytest_cache",
    ".gradio",
    "tests",
    "testkit",
    "benchmarks",
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
    block_extras(work / "venv" / "bin" / "python")
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
    outer = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages(python) / "_cnnlens_test_packages.pth").write_text("".join(f"{path}\n" for path in outer))


def site_packages(python: Path) -> Path:
    """The virtualenv's own site-packages."""
    return Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=python.parent).strip()
    )


def block_extras(python: Path) -> None:
    """Make pyarrow and Ray unimportable in the virtualenv, as for a core install: a module it imports at start-up
    (a .pth line) puts a finder first on sys.meta_path that answers ModuleNotFoundError for them."""
    inner = site_packages(python)
    (inner / "_cnnlens_without_extras.py").write_text(
        "import sys\n\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {EXTRAS!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n\n"
        "sys.meta_path.insert(0, Absent())\n"
    )
    (inner / "_cnnlens_without_extras.pth").write_text("import _cnnlens_without_extras\n")


def test_the_extras_are_not_importable_there(venv):
    probe = "import importlib\nfor name in ('pyarrow', 'ray'):\n    try:\n        importlib.import_module(name)\n"
    probe += "    except ModuleNotFoundError:\n        print(name, 'absent')\n"
    found = run(venv / "venv" / "bin" / "python", "-c", probe, cwd=venv).split("\n")
    assert [line for line in found if line] == ["pyarrow absent", "ray absent"]


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


def test_the_installed_app_serves_every_tab_and_the_template_plugin(venv):
    """Without pyarrow and Ray: predict, a method of every family, Compare, Evaluate on the bundled samples and
    the Learn tab's first step, then the template plugin's tab."""
    cat = ROOT / "examples" / "cat.png"
    with running_app(
        command=[str(venv / "venv" / "bin" / "cnnlens")], cwd=venv, extra_env={"CNNLENS_DEVICE": "cpu"}
    ) as server:
        config = json.loads(urllib.request.urlopen(server.url + "config", timeout=30).read())
        client = Client(server.url, verbose=False)
        served = serve_every_tab(client, FIRST_OF_EACH_FAMILY)
        main, _, info, *_ = client.predict(
            **explain("activation_energy", image=handle_file(str(cat)), layer="blocks.3")
        )
        log = server.log()
    labels = {c.get("props", {}).get("label") for c in config["components"]}
    assert "Activation energy" in labels  # its tab was built from the registry
    assert Image.open(main).width == 448 and "`blocks.3`" in info
    assert served["/predict"]["label"] == "282: tiger cat"
    assert served["/evaluate"][3].startswith("**7 images × 1 backbone × 1 method in") and "Traceback" not in log


FIRST_OF_EACH_FAMILY = ("feature_maps", "gradcam", "saliency", "occlusion")


def serve_every_tab(client: Client, methods: Sequence[str]) -> dict[str, Any]:
    """Each tab's main endpoint called once through `client` (methods: the plugin tabs to call), by endpoint."""
    cat = handle_file(str(ROOT / "examples" / "cat.png"))
    served = {"/predict": client.predict(cat, api_name="/predict")}
    for name in methods:
        served[f"/{name}"] = client.predict(
            image=cat, method=name, params=registry.get_plugin(name).quick_params, api_name="/explain"
        )
    served["/compare"] = client.predict(
        cat, ["tf_efficientnet_lite0"], ["gradcam"], ["predicted (top-1)"], ["default"], False, api_name="/compare"
    )
    served["/evaluate"] = client.predict(
        evaluate_tab.SAMPLES, None, None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1", "pointing_game"],
        api_name="/evaluate",
    )  # fmt: skip
    served["/learn_network"] = client.predict(api_name="/learn_network")
    return served
