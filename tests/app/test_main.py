"""`cnnlens` serves the app; `cnnlens evaluate …` runs the dataset evaluation instead, with no server."""

import subprocess
import sys

import pytest
from gradio_client import Client, handle_file

from tests.conftest import ROOT


def test_the_evaluate_subcommand_runs_the_evaluation_not_the_server():
    done = subprocess.run(
        [sys.executable, "-m", "app", "evaluate", "/no/such/folder", "--metrics", "top1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "There is no folder or file called '/no/such/folder'" in done.stderr
    assert "Running on" not in done.stdout + done.stderr  # no server was started


@pytest.mark.server
def test_spaces_app_file_serves_when_run_as_a_script(strict_server, samples):
    """Spaces runs `python app/__main__.py` (README's app_file), not `python -m app`: the strict server is started
    that way (tests/app/conftest.py)."""
    assert strict_server.process.args[1:] == ["app/__main__.py"]
    result = Client(strict_server.url, verbose=False).predict(handle_file(str(samples["cat"])), api_name="/predict")
    assert result["label"].startswith(("281", "282", "285"))
