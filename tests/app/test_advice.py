"""Advice that works where it is given (issue 38, item 2): a refused model names only ways in that the app as
deployed accepts (an upload of .safetensors, a bundled backbone, untrained weights, the operator's model folders),
never a .pth upload or a `local-dir:` folder a visitor may not name; a Hub id only where the server reaches the Hub.
Called as Gradio calls them (no server); the tests run offline (HF_HUB_OFFLINE=1, tests/conftest.py)."""

import gradio as gr
import pytest

import registry
from app import handlers, own_model_section, own_models


def refused(name: str) -> str:
    with pytest.raises(gr.Error) as caught:
        handlers.get_backbone(name, False)
    return caught.value.message


def test_a_timm_model_without_weights_offline_is_offered_an_upload_never_a_pth():
    message = refused("resnet50")
    assert message.startswith("No pretrained weights for resnet50 on this machine, and the Hugging Face Hub cannot")
    assert "upload its weights as a .safetensors file under **Your model**" in message
    assert "tf_efficientnet_lite0/1/2" in message and "tick 'Allow untrained weights'" in message
    for wrong in (".pth", "local-dir", "connect to the internet", "weights="):
        assert wrong not in message.lower(), message
    assert message.count("Allow untrained weights") == 1


def test_a_hub_model_offline_is_offered_an_upload_and_the_operators_folders_not_local_dir():
    message = refused("hf-hub:someone/not-downloaded-here")
    assert "someone/not-downloaded-here is not on this machine" in message
    assert "upload its files (the .safetensors checkpoint with its config.json) under **Your model**" in message
    assert "CNNLENS_MODEL_DIRS" in message
    assert "local-dir" not in message and ".pth" not in message and "untrained" not in message, message


def test_a_python_caller_still_hears_its_own_ways_in():
    with pytest.raises(registry.WeightsUnavailableError) as caught:
        registry.load_backbone("resnet50")
    said = str(caught.value)
    assert caught.value.remedies == ("network", "file", "shipped") and "weights=" in said and "Connect to" in said
    assert said.startswith(caught.value.reason)


def test_every_way_a_visitor_is_offered_is_one_the_app_accepts():
    for way in handlers.VISITOR_WAYS.values():
        assert ".pth" not in way and "local-dir" not in way and "weights=" not in way, way
    assert set(handlers.VISITOR_WAYS) <= set(registry.models._weights.REMEDIES)


def test_a_server_folder_is_refused_without_offering_the_hub_offline(tmp_path):
    with pytest.raises(own_models.OwnModelError) as caught:
        own_models.check_named(f"local-dir:{tmp_path}")
    message = str(caught.value)
    assert "upload your model's files instead" in message and "Hugging Face Hub" not in message, message
    assert str(tmp_path) not in message


def test_the_section_offers_the_hub_only_as_far_as_the_server_reaches_it():
    assert "cannot reach the Hugging Face Hub now" in own_model_section.help_text(False)
    assert "downloaded with its classes" in own_model_section.help_text(True)
    assert "`.pth` is refused" in own_model_section.help_text(False)


def test_a_failed_hub_load_leaves_no_loading_words_and_says_its_reason_once():
    """The note under the Hub field empties after a failure (the line under the backbone field says why), and the
    class's note beside the picker does not repeat it."""
    name, note = own_model_section.hub_model("someone/not-downloaded-here")
    assert note.startswith("Loading **hf-hub:someone/not-downloaded-here**")
    assert own_model_section.hub_outcome(name["value"]) == ""
    assert "is not on this machine" in handlers.backbone_status(name["value"], False)
    assert handlers.target_note(None, name["value"], False, handlers.PREDICTED) == (gr.update(), "")


def test_one_warning_mark_for_warnings_only(tiny, samples):
    """Issue 38: ⚠️ marked plain information too ("Noise seed 0…"), which wore real warnings down."""
    from app.plugin_run import describe

    result = registry.get_plugin("smoothgrad").run(tiny, samples["cat"], samples=2)  # random weights: one warning
    lines = describe(result, tiny).split("\n\n")
    marked = [line for line in lines if line.startswith("⚠️")]
    assert marked == ["⚠️ Untrained weights: this model has random weights, so the maps show structure only."]
    assert any(line.startswith("Noise seed 0:") for line in lines)


def test_a_three_class_model_lists_its_top_three_not_a_top_five(tmp_path, samples):
    """Issue 38, item 8: "Top-5 predictions" over a 3-class model's three."""
    from testkit.own_models import ARCHITECTURE, save_three_class

    paths = save_three_class(tmp_path)
    three = registry.load_backbone(ARCHITECTURE, device="cpu", weights=paths["safetensors"], labels=paths["labels"])
    assert handlers.top_k(three) == 3
    assert len(handlers._top_predictions(str(samples["cat"]), three)) == 3
    assert handlers.top_k(registry.load_backbone(registry.DEFAULT_BACKBONE)) == 5
