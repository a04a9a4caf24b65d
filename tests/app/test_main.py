"""`cnnlens` serves the app; `cnnlens evaluate …` runs the dataset evaluation instead, with no server."""

import subprocess
import sys

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
