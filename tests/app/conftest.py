"""The served app, started once for every client-level test module (starting it costs seconds)."""

from __future__ import annotations

import textwrap

import pytest

from tests.app.support import AppServer, running_app

EXPLODER = textwrap.dedent('''
    from registry import Context, Plugin

    class Exploder(Plugin):
        name = "exploder"
        title = "Exploder"
        description = "A plugin that always fails, to show the app survives it."
        output = "heatmap"

        def compute(self, ctx: Context):
            raise RuntimeError("kaboom")
''')


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> AppServer:
    """`python -m app` on the CPU, with one extra plugin that always fails (the app must survive it)."""
    extra = tmp_path_factory.mktemp("extra_plugins")
    (extra / "exploder.py").write_text(EXPLODER)
    with running_app(extra_env={"CNNLENS_PLUGIN_PATH": str(extra), "CNNLENS_DEVICE": "cpu"}) as server:
        yield server
