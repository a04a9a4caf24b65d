"""The evaluate and ray extras: a run without `out` imports neither pyarrow nor Ray, and a feature whose extra is
missing says which `pip install` brings it.

One fresh interpreter (this one has both imported already): it evaluates without `out`, reports what got imported,
then blocks the packages that were not (`sys.modules[name] = None`, what Python does for a module it cannot import)
and uses each feature that needs one. tqdm cannot be left out of the core install (huggingface_hub depends on it,
and `import torch` imports it), so it is blocked only for the command line's progress bar.
"""

import json
import subprocess
import sys
import warnings

import pytest

from registry.evaluation import EvaluationEngine, EvaluationProtocol, evaluate, records
from tests.conftest import ROOT

PROBE = """
import contextlib, io, json, sys, tempfile
import registry
from registry.evaluation.cli import main

found = {}
registry.evaluate("samples", ["test_resnet"], ["gradcam"], ["top1", "energy"], weights="random")
found["imported"] = sorted(name for name in ("pyarrow", "ray") if name in sys.modules)
for name in ("pyarrow", "ray", "tqdm"):
    sys.modules[name] = None
for what, call in {
    "out": lambda: registry.evaluate("samples", ["test_resnet"], ["gradcam"], ["top1"], weights="random",
                                     out=tempfile.mkdtemp()),
    "ray": lambda: registry.evaluate("samples", ["test_resnet"], ["gradcam"], ["top1"], engine="ray"),
}.items():
    try:
        call()
        found[what] = "no error"
    except registry.MissingExtraError as error:
        found[what] = str(error)
told = io.StringIO()
with contextlib.redirect_stderr(told):
    found["cli_status"] = main(["samples", "--backbones", "test_resnet", "--weights", "random", "--methods", "gradcam"])
found["cli"] = told.getvalue()
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def probed() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_evaluate_without_out_imports_neither_pyarrow_nor_ray(probed):
    assert probed["imported"] == []


def test_each_missing_extra_is_a_sentence_naming_its_install(probed):
    assert probed["out"] == (
        "Parquet output (out=, Evaluation.table) needs pyarrow, which is not installed: "
        'pip install "cnn-lens[evaluate]" (or pip install pyarrow tqdm) brings it.'
    )
    assert probed["ray"] == (
        'engine="ray" needs ray, which is not installed: pip install "cnn-lens[ray]" '
        '(or pip install "ray[data]" pyarrow tqdm) brings it.'
    )


def test_the_command_line_says_which_install_brings_its_progress_bar(probed):
    assert probed["cli_status"] == 2
    assert probed["cli"].strip() == (
        "cnnlens evaluate: The progress bar of `cnnlens evaluate` needs tqdm, which is not installed: "
        'pip install "cnn-lens[evaluate]" (or pip install pyarrow tqdm) brings it.'
    )


def test_the_separate_keywords_still_work_for_a_release(tiny):
    """evaluate(steps=2, batch_size=2) as before the settings objects: the same rows, and a DeprecationWarning."""
    data = records("samples")[:2]
    grouped = evaluate(
        data, [tiny], ["gradcam"], ["deletion"], protocol=EvaluationProtocol(steps=2, seeds=1),
        engine=EvaluationEngine(batch_size=2),
    )  # fmt: skip
    with pytest.warns(DeprecationWarning, match=r"evaluate\(steps=, seeds=, batch_size=\) is deprecated"):
        separate = evaluate(data, [tiny], ["gradcam"], ["deletion"], steps=2, seeds=1, batch_size=2)
    assert separate.rows == grouped.rows
    with warnings.catch_warnings(), pytest.raises(TypeError, match="unexpected keyword argument 'step'"):
        warnings.simplefilter("error")
        evaluate(data, [tiny], ["gradcam"], ["deletion"], step=2)
