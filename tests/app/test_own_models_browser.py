"""A model of one's own as a person brings it, in Chromium: upload the checkpoint and its labels under "Your
model", pick a class by its own name, run Grad-CAM and Compare; Learn says why a step needs ImageNet."""

from __future__ import annotations

import pytest

from testkit.own_models import save_three_class
from tests.app import support as ui
from tests.app.test_browser import app, browser, page  # noqa: F401 - the same real server and browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_three_class(tmp_path_factory.mktemp("own_browser"))


def test_an_uploaded_model_is_explained_and_compared_with_its_own_classes(page, saved):
    ui.upload_model(page, [saved["safetensors"], saved["labels"]], "tf_efficientnet_lite0")
    status = page.locator("#own-status").filter(has_text="3 classes (tiger cat, espresso, tripod)")
    status.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    ui.wait_for_backbone(page, "three.safetensors")
    ui.upload(page, ui.EXAMPLES / "coffee.png")
    panel = ui.wait_for_prediction(page, "1: espresso")
    assert "967" not in panel  # the model's own class numbers, not ImageNet's
    target = page.locator("#target input")
    target.fill("tripod")
    target.press("Enter")
    page.locator("#target-note").filter(has_text="2: tripod").wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert target.input_value() == "2: tripod"
    info = ui.run_plugin(page, "gradcam", "Grad-CAM")
    assert "2: tripod" in info and "three.safetensors" in info
    summary = ui.run_compare(page)
    assert "tf_efficientnet_lite0 (three.safetensors) predicts 1: espresso" in summary, summary
    ui.open_tab(page, "Learn")
    page.locator("#verdict").filter(has_text="No right / wrong mark").wait_for(
        state="visible", timeout=ui.STEP_TIMEOUT_MS
    )


def test_a_pickle_upload_is_refused_in_words_and_another_visitor_never_sees_an_upload(
    page, browser, app, saved, tmp_path
):
    import torch

    torch.save({"w": torch.zeros(2)}, tmp_path / "model.pth")
    ui.upload_model(page, [tmp_path / "model.pth"], "resnet18")
    page.locator(".toast-body").filter(
        has_text="model.pth: .pth, .pt, .bin and .ckpt files are pickles"
    ).first.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    ui.open_app(page, app.url)  # the next upload, from a fresh page, works
    ui.upload_model(page, [saved["safetensors"], saved["labels"]], "tf_efficientnet_lite0")
    ui.wait_for_backbone(page, "three.safetensors")
    page.locator("#backbone input").click()
    page.get_by_role("option").filter(has_text="Your model: three.safetensors").first.wait_for(
        state="visible", timeout=ui.STEP_TIMEOUT_MS
    )
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:  # a second visitor: the shortlist, and nothing anyone else uploaded
        ui.open_app(other, app.url)
        other.locator("#backbone input").click()
        options = other.get_by_role("option")
        options.first.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
        texts = options.all_inner_texts()
        assert any("tf_efficientnet_lite0" in text for text in texts) and not any("Your model" in t for t in texts)
    finally:
        other.context.close()
