"""Shared fixtures: the real sample images and the real default backbone (packaged weights)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT))
# Every temporary file of the run goes into one folder that is removed when the run ends: each test's tmp_path, the
# servers' data, the channel-picture cache, and gradio_client's downloads (which leave an empty folder per file).
RUN_TEMP = Path(tempfile.mkdtemp(prefix="cnnlens-tests-"))
tempfile.tempdir = os.environ["TMPDIR"] = str(RUN_TEMP)
atexit.register(shutil.rmtree, RUN_TEMP, ignore_errors=True)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the Hub; weights ship in packages
os.environ.setdefault("CNNLENS_PREWARM", "0")  # no server the tests start spends its first seconds pre-warming
os.environ.setdefault("CNNLENS_FEATURE_VIS_STEPS", "16")  # the served apps' pictures; fidelity tests set their own
# Channel pictures are cached on disk: each run (and every server it starts) gets a fresh cache of its own.
os.environ.setdefault("CNNLENS_FEATURE_VIS_CACHE", tempfile.mkdtemp(prefix="cnnlens-feature-vis-"))

import registry  # noqa: E402


@pytest.fixture(scope="session")
def lite0() -> registry.Backbone:
    return registry.load_backbone("tf_efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def tiny() -> registry.Backbone:
    """timm's test_resnet with seeded random weights: for checks of structure (shapes, counts, signs, axioms)
    that hold whatever the weights, in milliseconds a pass."""
    from registry.testing import default_backbone

    return default_backbone()


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    return {path.stem: path for path in sorted(EXAMPLES.iterdir()) if path.suffix in (".png", ".jpg")}
