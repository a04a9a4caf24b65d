"""The trust checks in the served app through gradio_client (a user opening them in Chromium: tests/app/test_browser.py,
the verdict on the cat)."""

import pytest
from gradio_client import handle_file

import registry

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
        assert events[f"{name}_peer_metrics"] == "undocumented"
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
