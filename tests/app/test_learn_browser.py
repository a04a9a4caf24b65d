"""The Learn tab as a student meets it: `python -m app` in headless Chromium, the steps run in order on a
sample, each showing its result and its computed sentence; then "Make it fail"; and the right / wrong mark."""

from __future__ import annotations

import re

import numpy as np
import pytest

import registry
from registry.teaching import lesson
from tests.app import support as ui
from tests.app.test_browser import app, browser, page  # noqa: F401 - the same real server and browser
from tests.registry.analysis.test_compare import coloured_in_scale_strip

pytestmark = pytest.mark.browser


# Step 3 shows its feature maps before its channel pictures (issue 38): records whether the page ever held the
# maps without the pictures.
MAPS_FIRST = """() => {
    window.__mapsFirst = false;
    const look = () => { if (document.querySelector('#learn-result-3 img[src]')
        && !document.querySelector('#learn-channels img[src]')) window.__mapsFirst = true; };
    new MutationObserver(look).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""
FINAL = {3: re.compile(r"of the \d+ samples")}  # step 3's sentence once its channel pictures are there


def run_step(page, number: int, button: str | None = None) -> str:
    """Press a step's button (or `button`); wait for its result and its (final) sentence; check the tab with axe-core
    (no serious or critical finding; its pictures described); return the sentence."""
    page.locator(button or f"#learn-run-{number}").click()
    note = page.locator(f"#learn-note-{number}")
    note.filter(has_text=FINAL.get(number, "What to notice")).wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    if number == 1:
        assert "stage 1" in page.locator("#learn-result-1").inner_text()
    else:
        picture = page.locator(f"#learn-result-{number} img[src]").first
        picture.wait_for(state="attached", timeout=ui.STEP_TIMEOUT_MS)
        picture.scroll_into_view_if_needed()  # a lazy image far below ("Run all steps" sits on top) loads in view
        picture.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
        assert picture.evaluate("img => img.complete && img.naturalWidth > 200")
        assert len(picture.get_attribute("alt") or "") > 20, number
    assert not ui.serious_violations(page, "#tab-learn"), f"Learn after step {number}"
    return note.inner_text()


def check_shared_colour_bar(page) -> None:
    """Step 4: Grad-CAM for two classes on one colour scale, its bar drawn once, under the second, whole on screen."""
    figure = ui.shown_picture(page, "#learn-result-4")
    assert [coloured_in_scale_strip(figure, row, 0) for row in (0, 1)] == [False, True]


def check_channel_pictures(page, note: str) -> None:
    """Step 3's second result: what the strongest channels look for, whole on the screen, and its sentence."""
    assert "channels (`" not in note and re.search(r"of the 11 samples\. ", note), note  # Markdown, rendered
    assert "the whole 224-pixel image" in note and "16-pixel square" in note, note  # measured on lite0
    channels = page.locator("#learn-channels img[src]").first
    channels.scroll_into_view_if_needed()
    channels.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert channels.evaluate("img => img.complete && img.naturalWidth >= 600")  # 3 stages × 2 channels × 2 tiles
    shown = channels.bounding_box()
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= page.viewport_size["width"], shown  # none cut off


def test_the_lesson_runs_step_by_step_on_a_sample(page, app):
    assert page.locator("#tab-learn").is_visible()  # first tab: open without a click
    ui.upload(page, ui.EXAMPLES / "cat.png")
    ui.wait_for_prediction(page, "cat")
    page.locator("#verdict").filter(has_text="Right").wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert "cat.png is 281 tabby" in page.locator("#verdict").inner_text()

    lite0 = registry.load_backbone(registry.DEFAULT_BACKBONE, device="cpu")
    rows = lesson.network_stages(lite0)
    page.evaluate(MAPS_FIRST)
    notes = [run_step(page, number) for number in range(1, 6)]
    assert page.evaluate("() => window.__mapsFirst")  # the maps at once, the channel pictures after
    expected = lesson.stages_sentence(lite0, rows).replace("*", "")
    assert expected in notes[0], notes[0]  # the sentence is the one computed from this backbone
    assert re.search(r"Filter \d+ of conv_stem is the most active on this image", notes[1]), notes[1]
    assert "blocks.0" in notes[2] and "of the positions" in notes[2], notes[2]
    check_channel_pictures(page, notes[2])
    check_shared_colour_bar(page)
    assert "282 tiger cat" in notes[3] and "285 Egyptian cat" in notes[3] and "overlap by" in notes[3], notes[3]
    assert "the truth is" in notes[4] and "ranked" in notes[4] and "clock.png" in notes[4], notes[4]
    page.locator("#learn-sample-5 input").click()  # step 5's wrong sample, chosen
    page.get_by_role("option").filter(has_text="horse").first.click()
    page.locator("#learn-run-5").click()
    page.locator("#learn-note-5").filter(has_text="horse.png shows").wait_for(
        state="visible", timeout=ui.STEP_TIMEOUT_MS
    )
    assert page.locator("#learn-filters img[src]").first.is_visible()  # every filter of the first convolution

    page.get_by_label("Grey out the Grad-CAM region").check()
    page.locator("#learn-run-fail").click()
    note = page.locator("#learn-note-fail").filter(has_text="random square of the same size")
    note.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert re.search(
        r"\((down|up) by \d\.\d{3}\); greying out a random square of the same size (lowers|raises) it by \d\.\d{3}",
        note.inner_text(),
    ), note.inner_text()
    assert "before" in page.locator("#learn-top5-fail").inner_text()
    assert page.locator("#learn-result-fail img[src]").first.evaluate("img => img.complete && img.naturalWidth > 800")
    figure = np.asarray(ui.shown_picture(page, "#learn-result-fail").convert("RGB")).astype(int)
    under = figure[4 + 224 : -4]  # below the 224 px tiles: a colour bar under each Grad-CAM map, none under a photo
    saturated = [int(((part.max(2) - part.min(2)) > 100).sum()) for part in np.array_split(under[:, 4:-4], 5, axis=1)]
    assert saturated[0] == saturated[2] == 0 and saturated[1] > 500 and saturated[3] > 500, saturated
    assert not ui.serious_violations(page), "Learn with every result shown"

    # A new image: the old results go, and a sample the model gets wrong is marked wrong.
    ui.upload(page, ui.EXAMPLES / "clock.png")
    page.locator("#verdict").filter(has_text="Wrong").wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert "clock.png is 892 wall clock" in page.locator("#verdict").inner_text()
    assert "What to notice" not in page.locator("#learn-note-2").inner_text()


def test_the_upside_down_rocket_fails_in_the_browser(page, app):
    ui.upload(page, ui.EXAMPLES / "rocket.jpg")
    ui.wait_for_prediction(page, "missile")
    page.get_by_label("Rotate").check()  # issue 38: the strength shows only where it changes something
    page.locator("#learn-strength").wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    page.get_by_label("Flip upside down").check()
    page.locator("#learn-strength").wait_for(state="hidden", timeout=ui.STEP_TIMEOUT_MS)
    page.locator("#learn-run-fail").click()
    note = page.locator("#learn-note-fail").filter(has_text="a right answer turned wrong")
    note.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert "517 crane" in note.inner_text()


@pytest.mark.parametrize("width", [pytest.param(390, id="phone")])  # the desktop run is the whole lesson above
def test_on_a_phone_run_all_steps_shows_every_step_and_its_pictures_whole(page, app, width):
    ui.upload(page, ui.EXAMPLES / "cat.png")
    ui.wait_for_prediction(page, "cat")
    check_channel_pictures(page, run_step(page, 3, "#learn-run-all"))  # "Run all steps": 1 to 5 in turn
    for number in (1, 2, 4, 5):
        page.locator(f"#learn-note-{number}").filter(has_text="What to notice").wait_for(
            state="visible", timeout=ui.STEP_TIMEOUT_MS
        )
    check_shared_colour_bar(page)
