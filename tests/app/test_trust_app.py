"""The trust checks in the served app: through gradio_client, and in Chromium as a user opens them."""

import os

import pytest
from gradio_client import handle_file

import registry
from tests.app import support as ui

HEATMAPS = [plugin.name for plugin in registry.list_plugins() if plugin.output == "heatmap"]


@pytest.fixture(scope="module")
def server(app_server):
    """The session's served app (tests/app/conftest.py): these checks need no fresh server."""
    return app_server


@pytest.mark.server
def test_the_checks_are_one_endpoint_and_each_tabs_events_stay_callable(client):
    """/trust takes the method by name; the tabs' own check events stay callable but off the API page."""
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/trust"]["parameters"]]
    assert names == [
        "image",
        "method",
        "check",
        "params",
        "backbone",
        "target",
        "allow_untrained",
        "layer",
        "steps",
        "baseline",
    ]
    events = {d.get("api_name"): d.get("api_visibility") for d in client.config["dependencies"]}
    for name in HEATMAPS:
        assert events[f"{name}_faithfulness"] == events[f"{name}_sanity_check"] == "undocumented"
    assert "feature_maps_faithfulness" not in events  # an image-only method has no map to score


@pytest.mark.server
def test_scores_through_gradio_client(client, samples):
    plot, text, data = client.predict(
        image=handle_file(str(samples["coffee"])), method="gradcam", steps=6, api_name="/trust"
    )
    assert plot.endswith(".png") and data["target"] == 967 and data["steps"] == 6 and data["baseline"] == "blur"
    assert data["deletion_auc"] < data["random_deletion_auc"] and data["insertion_auc"] > data["random_insertion_auc"]
    assert f"**{data['deletion_auc']:.3f}**" in text
    strip, table, check = client.predict(
        image=handle_file(str(samples["cat"])), method="saliency", check="sanity_check", api_name="/trust"
    )
    assert strip.endswith(".png") and check["target"] == 282 and check["steps"][0]["rank_correlation"] == 1.0
    assert len(check["steps"]) == 8 and all(step["rank_correlation"] < 0.6 for step in check["steps"][1:])
    assert all(f"| {step['randomized']} |" in table for step in check["steps"])


@pytest.fixture(scope="module")
def page(server):
    path = ui.chromium_path()
    if path is None:
        if os.environ.get("CNNLENS_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian's chromium is not on PATH, and CNNLENS_REQUIRE_BROWSER=1 requires the browser tests")
        pytest.skip("Debian's chromium is not on PATH (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = ui.launch_chromium(playwright, path)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            ui.open_app(page, server.url)
            yield page
            assert not errors, f"JavaScript errors in the page: {errors}"
        finally:
            browser.close()


@pytest.mark.browser
def test_user_opens_the_section_and_sees_the_scores(page):
    ui.upload(page, ui.EXAMPLES / "coffee.png")
    ui.wait_for_prediction(page, "espresso")
    text = ui.score_faithfulness(page, "gradcam", "Grad-CAM")
    assert "967: espresso" in text and "insertion AUC" in text and "random maps" in text, text
    plot = page.locator("#faithfulness-plot-gradcam img[src]").first
    plot.wait_for(state="visible", timeout=ui.STEP_TIMEOUT_MS)
    assert plot.evaluate("img => img.complete && img.naturalWidth > 600")
    assert page.get_by_text("How to read it").first.is_visible()
