"""The served app, started once for every client-level test module (starting it costs seconds)."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest
from gradio_client import Client

from testkit.server import AppServer, running_app
from tests.app.support import chromium_path

EXPLODER = textwrap.dedent("""
    from registry import Context, Plugin

    class Exploder(Plugin):
        name = "exploder"
        title = "Exploder"
        description = "A plugin that always fails, to show the app survives it."
        output = "heatmap"

        def compute(self, ctx: Context):
            raise RuntimeError("kaboom")
""")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> AppServer:
    """`python -m app` on the CPU, with one extra plugin that always fails (the app must survive it)."""
    extra = tmp_path_factory.mktemp("extra_plugins")
    (extra / "exploder.py").write_text(EXPLODER)
    with running_app(extra_env={"CNNLENS_PLUGIN_PATH": str(extra), "CNNLENS_DEVICE": "cpu"}) as server:
        yield server


@pytest.fixture(scope="module")
def client(app_server):
    """A gradio_client on the session's served app, one per module (tests/app/test_pressure.py has its own)."""
    return Client(app_server.url, verbose=False)


@pytest.fixture(scope="session")
def strict_server() -> AppServer:
    """The app as Spaces runs it (`python app/__main__.py`, its app_file) and as an operator set it up oddly: a
    start backbone with no weights here (resnet18: the app must fall back), a 1 MB cap on model uploads and a
    20 MB cap on any file. One server for the tests of all these."""
    settings = {
        "CNNLENS_BACKBONE": "resnet18",
        "CNNLENS_MAX_MODEL_UPLOAD_MB": "1",
        "CNNLENS_MAX_UPLOAD_MB": "20",
        "CNNLENS_DEVICE": "cpu",
    }
    with running_app(extra_env=settings, command=[sys.executable, "app/__main__.py"]) as server:
        yield server


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium for the browser tests: skipped without it, unless CNNLENS_REQUIRE_BROWSER=1 (CI)."""
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not on PATH (apt-get install chromium)"
        if os.environ.get("CNNLENS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and CNNLENS_REQUIRE_BROWSER=1 requires the browser tests")
        pytest.skip(message)
    return path
