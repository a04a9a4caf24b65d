"""The Live tab's webcam in Chromium with a fake camera playing a clip the test makes (the cat crossing a grey
frame): overlaid frames arrive and the page states a frame rate above zero (two frames explained at least: with
Gradio's "always_last" trigger mode the stream sent its first frame only and the page said 0.0). Its own browser (a
fake camera needs its own launch flags), the session's served app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from registry.imaging import EXAMPLES
from tests.app import support as ui
from tests.app.test_browser import app  # noqa: F401 - the session's real server

pytestmark = pytest.mark.browser
RATE = re.compile(r"(\d+\.\d) frames per second")  # the rate stated once two frames are explained


def y4m(path: Path, count: int = 8, side: int = 96) -> Path:
    """A raw YUV 4:2:0 clip (what Chromium's fake camera plays) of the cat moving across a grey frame."""
    cat = Image.open(EXAMPLES / "cat.png").convert("RGB")
    cat.thumbnail((side * 6 // 10, side * 6 // 10))
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n".encode())
        for number in range(count):
            canvas = Image.new("RGB", (side, side), (128, 128, 128))
            canvas.paste(cat, (number * (side - cat.width) // (count - 1), (side - cat.height) // 2))
            luma, blue, red = canvas.convert("YCbCr").split()
            handle.write(b"FRAME\n" + luma.tobytes())
            for plane in (blue, red):
                handle.write(plane.resize((side // 2, side // 2), Image.Resampling.BILINEAR).tobytes())
    return path


def test_the_fake_camera_is_explained_live_with_its_frame_rate(chromium, app, tmp_path):  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    clip = y4m(tmp_path / "clip.y4m")
    flags = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    flags.append(f"--use-file-for-fake-video-capture={clip}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=ui.CHROMIUM_ARGS + flags)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
            page = context.new_page()
            ui.open_app(page, app.url)
            ui.open_tab(page, "Live")
            camera = page.locator("#live-camera")
            camera.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
            access = camera.get_by_text("Click to Access Webcam")
            if access.count():
                access.first.click()
            camera.get_by_role("button", name="capture photo").first.click(timeout=ui.STEP_TIMEOUT_MS)  # "Record"
            rate = page.locator("#live-fps").filter(has_text=RATE)
            rate.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)  # the second frame explained
            assert float(RATE.search(rate.inner_text()).group(1)) > 0
            page.locator("#live-overlay img").first.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
            assert "cat" in page.locator("#live-top").inner_text()
        finally:
            browser.close()
