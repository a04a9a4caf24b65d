"""Take docs/screenshot.png: start the app, upload examples/cat.png in headless Chromium, run Grad-CAM.

    python scripts/screenshot.py [--output docs/screenshot.png] [--width 1400] [--height 1000] [--full-page]
    python scripts/screenshot.py --own-model --image examples/coffee.png --output docs/own_model.png

With --own-model it first uploads a 3-class model of one's own under "Your model" (tests/own_models.py: rows
of lite0's ImageNet head, tiger cat / espresso / tripod, as a safetensors file and a labels file).

Needs Debian's chromium on PATH (never a Playwright-downloaded browser) and the playwright package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
    args = parser.parse_args(argv)

    chromium = ui.chromium_path()
    if chromium is None:
        print("chromium is not on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with ui.running_app() as server, sync_playwright() as playwright:
        browser = ui.launch_chromium(playwright, chromium)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            ui.open_app(page, server.url)
            if args.own_model:
                _upload_own_model(page)
            ui.upload(page, args.image)
            print("predictions:", " | ".join(ui.wait_for_prediction(page, "%").splitlines()[1:4]))
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
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1000:.0f} kB)")
    if size > MAX_BYTES:
        print(f"warning: larger than {MAX_BYTES // 1000} kB; try a smaller --width/--height", file=sys.stderr)
    return 0


def _upload_own_model(page) -> None:
    """Open "Your model", upload the 3-class checkpoint and its labels, wait until it is the chosen backbone."""
    import tempfile

    from tests.own_models import save_three_class

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
