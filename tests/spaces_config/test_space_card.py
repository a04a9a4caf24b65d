"""The Space header agrees with what the app really uses: gradio pin, preloaded weights, hardware."""

import re

import gradio
import timm
from huggingface_hub import SpaceCard

import registry
from registry.models import PACKAGED
from tests.conftest import ROOT


def hub_backbones() -> list[str]:
    """The Hub ids of the curated backbones whose weights do not ship in a pip package."""
    return [timm.models.get_pretrained_cfg(name).hf_hub_id for name in registry.CURATED if name not in PACKAGED]


def test_header_matches_requirements_and_the_curated_backbones():
    card = SpaceCard.load(ROOT / "README.md")
    pinned = re.search(r"^gradio==([\d.]+)$", (ROOT / "requirements.txt").read_text(), flags=re.M).group(1)
    assert card.data.sdk == "gradio" and card.data.sdk_version == pinned == gradio.__version__
    expected = hub_backbones()
    assert expected and all(hub_id.startswith("timm/") for hub_id in expected)
    assert sorted(card.data.preload_from_hub) == sorted(expected), "preload every curated Hub backbone, nothing else"
    assert sorted(card.data.models) == sorted(expected)
    assert card.data.suggested_hardware in ("cpu-basic", "cpu-upgrade", "zero-a10g", "t4-small")
    assert (ROOT / card.data.app_file).is_file() and card.data.app_file == "app/__main__.py"


def test_packaged_backbones_need_no_download():
    assert {"tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"} <= set(PACKAGED)
    assert registry.DEFAULT_BACKBONE in PACKAGED
