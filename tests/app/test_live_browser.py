"""The Live tab's webcam in Chromium with a fake camera playing a clip the test makes (the cat crossing a grey
frame): overlaid frames arrive and the page states a frame rate above zero (two frames explained at least: with
Gradio's "always_last" trigger mode the stream sent its first frame only and the page said 0.0). Its own browser (a
fake camera needs its own launch flags), the session's served app."""

from __future__ import annotations

import pytest

from testkit.clips import y4m
from tests.app import support as ui
from tests.app.test_browser import app  # noqa: F401 - the session's real server

pytestmark = pytest.mark.browser


def test_the_fake_camera_is_explained_live_with_its_frame_rate(chromium, app, tmp_path):  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    clip = y4m(tmp_path / "clip.y4m")
    with sync_api.sync_playwright() as playwright:
        browser = ui.launch_chromium(playwright, chromium, camera=clip)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
            page = context.new_page()
            ui.open_app(page, app.url)
            assert ui.stream_webcam(page) > 0  # the second frame explained
            page.locator("#live-overlay img").first.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
            assert "cat" in page.locator("#live-top").inner_text()
        finally:
            browser.close()
