"""Take docs/screenshot.png: start the app, upload examples/cat.png in headless Chromium, run Grad-CAM.

    python scripts/screenshot.py [--output docs/screenshot.png] [--width 1400] [--height 1000] [--full-page]
    python scripts/screenshot.py --own-model --image examples/coffee.png --output docs/own_model.png
    python scripts/screenshot.py --learn --output docs/learn.png
    python scripts/screenshot.py --live --output docs/live.png

With --learn it runs Learn's step 3 instead of Grad-CAM and shoots that step: its text, the feature maps, the
channel pictures and the sentence (the first run optimises the pictures: about a minute on a 2-core CPU).

With --live the browser's fake camera plays a clip of the cat crossing a grey frame (testkit/clips.py); once a few
overlaid frames have arrived it stops the stream (so the overlay and the top-3 are of one frame) and shoots the Live
tab: the camera, the overlaid frame, the top-3 and the frames per second achieved.

With --own-model it first uploads a 3-class model of one's own under "Your model" (testkit/own_models.py: rows
of lite0's ImageNet head, tiger cat / espresso / tripod, as a safetensors file and a labels file).

Needs Debian's chromium on PATH (never a Playwright-downloaded browser) and the playwright package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.server import running_app  # noqa: E402
from tests.app import support as ui  # noqa: E402

MAX_BYTES = 600_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--image", type=Path, default=ui.EXAMPLES / "cat.png")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--full-page", action="store_true", help="the whole page instead of the input-and-result view")
    parser.add_argument("--own-model", action="store_true", help="upload a 3-class model of one's own first")
    parser.add_argument("--learn", action="store_true", help="shoot Learn's step 3 (layer by layer) instead")
    parser.add_argument("--live", action="store_true", help="shoot the Live tab explaining a fake camera instead")
    args = parser.parse_args(argv)

    chromium = ui.chromium_path()
    if chromium is None:
        print("chromium is not on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    camera = _camera_clip() if args.live else None
    with running_app() as server, sync_playwright() as playwright:
        browser = ui.launch_chromium(playwright, chromium, camera=camera)
        try:
            viewport = {"width": args.width, "height": args.height}
            page = browser.new_context(viewport=viewport, permissions=["camera"] if camera else []).new_page()
            ui.open_app(page, server.url)
            if args.live:
                _shoot_live(page, args.output, args.width)
                return _report(args.output)
            if args.own_model:
                _upload_own_model(page)
            ui.upload(page, args.image)
            print("predictions:", " | ".join(ui.wait_for_prediction(page, "%").splitlines()[1:4]))
            if args.learn:
                _shoot_learn_step(page, args.output, args.width)
                return _report(args.output)
            info = ui.run_plugin(page, "gradcam", "Grad-CAM")
            print("Grad-CAM:", " | ".join(line for line in info.splitlines() if line.strip()))
            result = page.locator("#result-gradcam img[src]").first
            result.evaluate("img => img.decode()")  # fully decoded before the shot
            page.mouse.move(0, 0)  # no hover highlights
            page.wait_for_timeout(500)  # let progress bars and transitions settle
            args.output.parent.mkdir(parents=True, exist_ok=True)
            if args.full_page:
                page.screenshot(path=str(args.output), full_page=True)
            else:
                _shoot_input_and_result(page, args.output, args.width)
        finally:
            browser.close()
    return _report(args.output)


def _report(output: Path) -> int:
    """Print the file's size; past MAX_BYTES (a README picture every visitor downloads) keep 256 colours."""
    if output.stat().st_size > MAX_BYTES:
        from PIL import Image

        with Image.open(output) as shot:
            palette = shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
        palette.save(output, optimize=True)
    size = output.stat().st_size
    print(f"wrote {output} ({size / 1000:.0f} kB)")
    if size > MAX_BYTES:
        print(f"warning: larger than {MAX_BYTES // 1000} kB; try a smaller --width/--height", file=sys.stderr)
    return 0


def _shoot_learn_step(page, output: Path, width: int) -> None:
    """Learn's step 3 from its heading to its sentence: the feature maps beside what their channels look for."""
    page.locator("#learn-run-3").click()
    note = page.locator("#learn-note-3").filter(has_text="What to notice")
    note.wait_for(state="visible", timeout=600_000)
    print("step 3:", note.inner_text())
    for picture in ("#learn-result-3 img[src]", "#learn-channels img[src]"):
        page.locator(picture).first.evaluate("img => img.decode()")
    heading = page.get_by_role("heading", name="3. Layer by layer")
    top = heading.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
    bottom = note.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)
    page.screenshot(
        path=str(output), full_page=True, clip={"x": 0, "y": top - 8, "width": width, "height": bottom - top + 16}
    )


def _camera_clip() -> Path:
    """The fake camera's clip: the cat crossing a grey frame, large enough to read in the shot, 3 s looped."""
    import tempfile

    from testkit.clips import y4m

    return y4m(Path(tempfile.mkdtemp(prefix="cnnlens-live-")) / "cat.y4m", count=30, side=384)


def _shoot_live(page, output: Path, width: int) -> None:
    """The Live tab from its tab button to the end of the webcam's row: the camera beside the overlaid frame, the
    top-3 and the frames per second, once a few overlays have arrived and the stream is stopped (while it streams,
    the top-3's text can be a frame ahead of the overlay, whose picture is still loading)."""
    print("first rate:", ui.stream_webcam(page), "frames per second")
    page.wait_for_function(  # a few distinct overlays: the stream is running, not its first frame shown
        """count => { const img = document.querySelector('#live-overlay img[src]'); if (!img) return false;
        window.seenOverlays = window.seenOverlays || new Set(); window.seenOverlays.add(img.src);
        return window.seenOverlays.size >= count; }""",
        arg=4,
        polling=100,
        timeout=ui.STEP_TIMEOUT_MS,
    )
    page.locator("#live-camera").get_by_role("button", name="capture photo").first.click()  # "Stop"
    page.wait_for_timeout(1500)  # the last frame in flight arrives
    page.locator("#live-overlay img[src]").first.evaluate("img => img.decode()")
    print("top-3:", " | ".join(page.locator("#live-top").inner_text().split("\n")[:6]))
    print("rate:", page.locator("#live-fps").inner_text())
    tab = page.get_by_role("tab", name="Live", exact=True)
    top = tab.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
    row = page.locator("#tab-live .tab-body").first
    bottom = row.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    page.screenshot(
        path=str(output), full_page=True, clip={"x": 0, "y": top - 8, "width": width, "height": bottom - top + 16}
    )


def _upload_own_model(page) -> None:
    """Open "Your model", upload the 3-class checkpoint and its labels, wait until it is the chosen backbone."""
    import tempfile

    from testkit.own_models import save_three_class

    saved = save_three_class(Path(tempfile.mkdtemp(prefix="cnnlens-own-")))
    ui.upload_model(page, [saved["safetensors"], saved["labels"]], "tf_efficientnet_lite0")
    ui.wait_for_backbone(page, "three.safetensors")
    print("own model:", page.locator("#own-status").inner_text())


def _shoot_input_and_result(page, output: Path, width: int) -> None:
    """One picture from the title down to the Grad-CAM result and its info text (not the gallery below)."""
    bottom = page.locator("#info-gradcam").evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
    page.screenshot(
        path=str(output), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": min(bottom + 8, 2400)}
    )


if __name__ == "__main__":
    sys.exit(main())
