"""Drive the real app in headless Chromium (the app itself runs through `testkit.server.running_app`).

Shared by the browser tests in tests/app and scripts/screenshot.py. Uses Debian's chromium
(/usr/bin/chromium), never a Playwright-downloaded browser.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from testkit.browser import chromium_path, launch_chromium  # noqa: F401 (the tests reach them here)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# Generous for a 2-core CPU-only machine shared with the browser and pytest: a healthy run needs a few seconds
# per step, a loaded CI machine has needed over 60 s for one (a failure still shows within two minutes).
STEP_TIMEOUT_MS = 120_000


# --- what a user does -------------------------------------------------------------------------


@contextlib.contextmanager
def app_page(browser, url: str, width: int, **options: Any) -> Iterator[Any]:
    """The app open in a new page `width` px wide (a phone's height under 600 px); fails afterwards if the page
    raised a JavaScript error. `options` go to the browser context (accept_downloads=True, …)."""
    context = browser.new_context(viewport={"width": width, "height": 1000 if width > 600 else 844}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_app(page, url)
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def open_app(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded", timeout=STEP_TIMEOUT_MS)
    page.locator("#input-image").wait_for(state="visible", timeout=STEP_TIMEOUT_MS)


def upload(page, path: Path | str) -> None:
    """Choose a file through the image component's own file input, as its upload button would."""
    page.locator("#input-image input[type=file]").first.set_input_files(str(path))


def predictions(page):
    """The "Top-5 predictions" label block."""
    return page.locator("#predictions")


def wait_for_prediction(page, text: str) -> str:
    """Wait until the predictions panel shows `text`; return the panel's text."""
    panel = predictions(page)
    panel.filter(has_text=text).wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    return panel.inner_text()


def open_tab(page, title: str) -> None:
    """Click a tab by its title; a method's tab sits inside its family's tab (app/method_tabs.py), which opens first."""
    tab = page.get_by_role("tab", name=title, exact=True)
    if not (tab.count() and tab.is_visible()):
        import registry  # the family a method belongs to is its plugin's declaration

        family = next((p.family for p in registry.list_plugins() if p.title == title), None)
        if family is not None:
            page.get_by_role("tab", name=registry.FAMILIES[family][0], exact=True).click()
    tab.click()


def set_slider(scope, label: str, value: int) -> None:
    """Type `value` into the number box of the slider called `label` inside `scope` (a tab's locator), leave the box
    as a person would, and wait until the slider itself shows it: a Run pressed before then can send the old value
    (seen once in CI, on a loaded machine)."""
    box = scope.get_by_label(f"number input for {label}", exact=True)
    box.fill(str(value))
    box.press("Enter")
    box.blur()
    from playwright.sync_api import expect  # imported here: the module serves tests that skip without a browser

    expect(scope.get_by_label(f"range slider for {label}", exact=True)).to_have_value(str(value))


LIVE_RATE = re.compile(r"(\d+\.\d) frames per second")  # the Live tab's rate, stated once two frames are explained


def stream_webcam(page) -> float:
    """Open the Live tab, allow the webcam, press its record button; wait until the page states the frames per
    second achieved (the second frame explained) and return that rate."""
    open_tab(page, "Live")
    camera = page.locator("#live-camera")
    camera.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    access = camera.get_by_text("Click to Access Webcam")
    if access.count():
        access.first.click()
    camera.get_by_role("button", name="capture photo").first.click(timeout=STEP_TIMEOUT_MS)  # "Record"
    rate = page.locator("#live-fps").filter(has_text=LIVE_RATE)
    rate.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    return float(LIVE_RATE.search(rate.inner_text()).group(1))


def run_plugin(page, name: str, title: str) -> str:
    """Open the plugin's tab, press its run button, wait for the result image; return the info text."""
    open_tab(page, title)
    page.locator(f"#run-{name}").click()
    page.locator(f"#result-{name} img[src]").first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    info = page.locator(f"#info-{name}")
    info.filter(has_text="Device").wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    return info.inner_text()


def run_compare(page, preset: str | None = None) -> str:
    """Open the Compare tab, optionally click a preset, press Compare, wait for the figure; return the summary."""
    open_tab(page, "Compare")
    if preset:
        page.locator(f"#preset-{preset}").click()
    page.locator("#run-compare").click()
    page.locator("#result-compare img[src]").first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    info = page.locator("#info-compare")
    info.filter(has_text=re.compile(r"\bmaps? in\b")).wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    return info.inner_text()


def serious_violations(page, context: str | None = None) -> list[str]:
    """axe-core's serious and critical findings on the page (or in the `context` selector), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, context=context).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def shown_picture(page, selector: str):
    """The picture a result image shows, scrolled into view (a lazy image below a phone's fold loads then) and
    checked whole on the screen: not wider than the page, not cropped. Returns the file it shows, as a PIL image."""
    import io

    from PIL import Image

    picture = page.locator(f"{selector} img[src]").first
    picture.wait_for(state="attached", timeout=STEP_TIMEOUT_MS)
    picture.scroll_into_view_if_needed()
    picture.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    shown = picture.evaluate(
        "img => { const box = img.getBoundingClientRect(); return {left: box.left, right: box.right, "
        "ratio: box.width / box.height, natural: img.naturalWidth / img.naturalHeight, "
        "fit: getComputedStyle(img).objectFit}; }"
    )
    assert shown["left"] >= 0 and shown["right"] <= page.viewport_size["width"] + 1, shown
    assert shown["fit"] in ("contain", "scale-down") or abs(shown["ratio"] / shown["natural"] - 1) < 0.03, shown
    return Image.open(io.BytesIO(page.request.get(picture.get_attribute("src")).body()))


class RequestCounter:
    """Counts the event requests a page sends to the server (queued and direct), by endpoint index."""

    def __init__(self, page) -> None:
        self.page = page
        self.sent: list[int | None] = []
        page.on("request", self._seen)
        # The panel's predictions (after an upload, a sample click, a backbone change): shown_predictions, _1, ...;
        # and `/predict`, which scripts call (the page never does)
        self.predict = set(
            page.evaluate(
                "() => window.gradio_config.dependencies.flatMap("
                "(d, i) => /^(predict|shown_predictions)(_\\d+)?$/.test(d.api_name) ? [i] : [])"
            )
        )

    def _seen(self, request) -> None:
        if request.method != "POST" or "/gradio_api/" not in request.url or not request.post_data:
            return
        with contextlib.suppress(ValueError):
            self.sent.append(json.loads(request.post_data).get("fn_index"))

    def predictions_asked(self, since: int) -> int:
        """How many `predict` requests were sent since the `since`-th request."""
        return sum(index in self.predict for index in self.sent[since:])

    def settle(self, quiet_ms: int = 1500, within_ms: int = 40_000) -> None:
        """Wait until the page sends nothing for `quiet_ms`; fail if that has not happened within `within_ms`
        (a page that goes on asking by itself never settles: the loop of issue 18 sent about 20 requests a second)."""
        waited, mark = 0, len(self.sent)
        while waited < within_ms:
            self.page.wait_for_timeout(quiet_ms)
            waited += quiet_ms
            if len(self.sent) == mark:
                return
            mark = len(self.sent)
        raise AssertionError(f"the page kept sending requests for {within_ms / 1000:.0f} s: {self.sent[-40:]}")


def upload_model(page, files: list[Path | str], architecture: str) -> None:
    """Open "Your model", choose `files` in its file input, type the architecture and press "Load my model"."""
    page.locator("#own-model").get_by_text("Your model").first.click()
    page.locator("#model-files input[type=file]").first.set_input_files([str(path) for path in files])
    page.locator("#model-architecture input, #model-architecture textarea").first.fill(architecture)
    page.locator("#model-load").click()


def wait_for_backbone(page, text: str) -> None:
    """Wait until the line under the backbone field names `text` (the model now chosen)."""
    page.locator("#backbone-status").filter(has_text=text).wait_for(state="visible", timeout=STEP_TIMEOUT_MS)


def click_sample(page, name: str) -> None:
    """Click a bundled sample under the image, by its name ("cat", "camera gray")."""
    page.locator(f"#samples button[aria-label='{name}']").click()


def trust_section(name: str) -> str:
    """The id suffix of the trust section that scores method `name`: its family's (app/trust_section.py)."""
    import registry

    return registry.get_plugin(name).family


def score_faithfulness(page, name: str, title: str) -> str:
    """Run the method at its defaults, open its family's "How faithful is this map?" section, see that it names the
    open tab's method, and score it; return the summary."""
    run_plugin(page, name, title)
    family = trust_section(name)
    page.locator(f"#trust-{family}").get_by_text("How faithful is this map?").click()
    from playwright.sync_api import expect

    expect(page.locator(f"#trust-method-{family} input")).to_have_value(title)  # the section follows the tabs
    page.locator(f"#faithfulness-run-{family}").click()
    info = page.locator(f"#faithfulness-info-{family}").filter(has_text="deletion AUC").filter(has_text=name)
    info.wait_for(state="visible", timeout=4 * STEP_TIMEOUT_MS)
    return info.inner_text()
