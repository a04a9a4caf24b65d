"""What a person sees of a run in Chromium: the loading words while a model loads, then the map's downloads,
gone again once the result is stale; an Evaluate run's progress, summary and rows. Skipped without Debian's
chromium, unless CNNLENS_REQUIRE_BROWSER=1."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from registry.evaluation import records
from tests.app import support as ui

pytestmark = pytest.mark.browser

# Records every text the watched panels show, so a message that lasts a second is not missed between two looks.
WATCH = """ids => {
    window.__seen = Object.assign(window.__seen || {}, Object.fromEntries(ids.map(id => [id, new Set()])));
    const look = () => ids.forEach(id => { const el = document.getElementById(id); \
if (el) window.__seen[id].add(el.innerText); });
    new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module", params=[pytest.param(390, id="phone")])  # one width (the narrow one)
def page(chromium, app_server, request):
    """A phone's page on the session's served app (tests/app/conftest.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = ui.launch_chromium(playwright, chromium)
        with ui.app_page(browser, app_server.url, request.param, accept_downloads=True) as page:
            yield page
        browser.close()


def _seen(page) -> dict[str, list[str]]:
    return page.evaluate(
        "() => Object.fromEntries(Object.entries(window.__seen).map(([id, texts]) => [id, [...texts]]))"
    )


def test_loading_words_then_steps_then_downloads_that_go_when_stale(page, tmp_path):
    ui.upload(page, ui.EXAMPLES / "cat.png")
    ui.wait_for_prediction(page, "tiger cat")
    ui.open_tab(page, "Score-CAM")
    page.evaluate(WATCH, ["predictions", "layer-scorecam", "result-scorecam"])
    # Another model. "Loading" shows only while a model is really being loaded (issue 18, item 8): the shared
    # server may hold lite2 already, and never says it loads lite0, which it holds.
    backbone = page.locator("#backbone input")
    backbone.fill("tf_efficientnet_lite2")
    counter = ui.RequestCounter(page)
    backbone.press("Enter")
    ui.wait_for_backbone(page, "tf_efficientnet_lite2")
    counter.settle()  # the class list and layer lists follow the new model before the run
    heard = [text for texts in _seen(page).values() for text in texts if "Loading" in text]
    assert all("tf_efficientnet_lite2" in text for text in heard), heard
    # A method that loops (here 32 masked images in batches of 16): its panel counts the steps.
    ui.set_slider(page.locator("#tab-scorecam"), "Channels scored (cap)", 32)
    page.locator("#run-scorecam").click()
    page.locator("#result-scorecam img[src]").first.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    page.locator("#info-scorecam").filter(has_text="tf_efficientnet_lite2").wait_for(
        state="visible", timeout=ui.STEP_TIMEOUT_MS
    )
    assert any(re.search(r"Score-CAM: \d+/32", text) for text in _seen(page)["result-scorecam"]), _seen(page)

    # The map leaves the app: the raw map at the model view's size (lite2 sees 260 px) and the overlay.
    for name, suffix in (("raw-map", "_raw_map.npy"), ("overlay", "_overlay.png")):
        link = page.locator(f"#{name}-scorecam a[download]").first
        link.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
        with page.expect_download(timeout=ui.STEP_TIMEOUT_MS) as download:
            link.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name == f"scorecam_tf_efficientnet_lite2_285{suffix}"  # lite2's top-1 here is 285, Egyptian cat
        if suffix.endswith(".npy"):
            heat = np.load(saved)
            assert heat.shape == (260, 260) and heat.dtype == np.float32 and heat.max() > 0
        else:
            assert Image.open(saved).size == (448, 448)

    # Another class: the map, its text and both downloads go, rather than stay under the wrong class.
    ui.predictions(page).get_by_text("282: tiger cat").first.click()
    page.locator("#result-scorecam img[src]").first.wait_for(state="detached", timeout=ui.STEP_TIMEOUT_MS)
    for name in ("raw-map", "overlay"):
        page.locator(f"#{name}-scorecam a[download]").first.wait_for(state="detached", timeout=ui.STEP_TIMEOUT_MS)


def test_evaluate_on_the_samples_shows_progress_then_the_table_figure_and_rows(page, tmp_path):
    """The Evaluate tab as a researcher meets it: the bundled samples with the default method and metrics; the
    panel counts the work while it runs, then the summary figure, its table and a rows CSV with a row per image."""
    ui.open_tab(page, "Evaluate")
    page.evaluate(WATCH, ["result-evaluate"])
    page.locator("#run-evaluate").click()
    figure = page.locator("#result-evaluate img[src]").first
    figure.wait_for(state="attached", timeout=ui.STEP_TIMEOUT_MS)
    figure.scroll_into_view_if_needed()  # a lazy image below a phone's fold loads once it is in view
    figure.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 200", arg=figure.element_handle())
    expected = {Path(record.path).name for record in records("samples")}
    note = page.locator("#info-evaluate").filter(has_text=f"{len(expected)} images × 1 backbone × 1 method")
    note.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert any("Evaluating" in text for text in _seen(page)["result-evaluate"]), _seen(page)
    summary = page.locator("#evaluate-summary").inner_text()
    assert "pointing_game" in summary and "top1" in summary and "gradcam" in summary, summary
    # Issue 38: each image on the page with its prediction, right or wrong, and its map (not only in the CSV)
    gallery = page.locator("#evaluate-gallery")
    gallery.locator("img").nth(len(expected) - 1).wait_for(state="attached", timeout=ui.STEP_TIMEOUT_MS)
    shown = gallery.inner_text()
    assert "clock.png · ❌ wrong: 971 bubble" in shown and "coffee.png · ✅ right: 967 espresso" in shown, shown

    link = page.locator("#evaluate-rows a[download]").first
    link.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    with page.expect_download(timeout=ui.STEP_TIMEOUT_MS) as download:
        link.click()
    saved = tmp_path / "rows.csv"
    download.value.save_as(saved)
    with open(saved, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["image"] for row in rows} == expected, rows  # file names, one set of rows per sample
    assert "gradcam" in {row["method"] for row in rows} <= {"", "gradcam"}  # accuracy rows name no method


def test_audit_finds_strategies_in_the_sample_crops_at_phone_width(page):
    """The Audit tab as a visitor without a zip meets it: crops of a bundled photo, Find strategies, then the figure
    and a sentence per strategy, the page no wider than the phone."""
    ui.open_tab(page, "Audit")
    page.locator("#run-strategies").click()
    figure = page.locator("#result-strategies img[src]").first
    figure.wait_for(state="attached", timeout=ui.STEP_TIMEOUT_MS)
    figure.scroll_into_view_if_needed()
    figure.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 300", arg=figure.element_handle())
    sentences = page.locator("#info-strategies").filter(has_text="Strategy 1:")
    sentences.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert "crops of the bundled cat.png" in sentences.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    box = figure.bounding_box()
    assert box is not None and box["width"] <= page.viewport_size["width"], box


def test_a_style_image_uploaded_in_the_create_tab_gives_a_picture(page):
    """Style transfer's second image is an upload in its own tab (a parameter of kind image); the run names the
    layers that carried the style."""
    ui.upload(page, ui.EXAMPLES / "cat.png")  # the content: the page's image
    ui.wait_for_prediction(page, "cat")
    ui.open_tab(page, "Style transfer")
    page.locator("#param-style input[type=file]").first.set_input_files(str(ui.EXAMPLES / "coffee.png"))
    tab = page.locator("#tab-style_transfer")
    ui.set_slider(tab, "Optimisation steps", 1)  # one short step
    ui.set_slider(tab, "Picture size (short side, pixels)", 64)
    page.locator("#run-style_transfer").click()
    picture = page.locator("#result-style_transfer img[src]").first
    picture.wait_for(state="attached", timeout=ui.STEP_TIMEOUT_MS)
    picture.scroll_into_view_if_needed()  # a lazy image below a phone's fold has no size until scrolled to
    picture.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    info = page.locator("#info-style_transfer")
    info.filter(has_text="Gram distance to the style fell").wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert "your style image" in page.locator("#tab-style_transfer").inner_text()
    said = info.inner_text()
    assert re.search(r"\b1 (Adam|L-BFGS) step at 64 pixels", said), f"the small settings did not take: {said}"
