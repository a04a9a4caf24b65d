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
def test_the_checks_are_one_endpoint_and_the_page_has_one_section_per_family(client):
    """/trust takes the method by name; the page scores through one section per family of heatmap methods (a section
    per method made the page twice as slow to start), whose events are private."""
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
    assert not [name for name in endpoints if name.endswith(("_faithfulness", "_sanity_check", "_peer_metrics"))]
    ids = {c["props"].get("elem_id") for c in client.config["components"]}
    families = {plugin.family for plugin in registry.list_plugins() if plugin.output == "heatmap"}
    runs = {i for i in ids if i and i.startswith("faithfulness-run-")}
    assert {f"faithfulness-run-{family}" for family in families} <= runs  # (the server's extra plugin adds "other")
    assert len(runs) <= len(families) + 1 < len(HEATMAPS)  # a section per family, not one per method
    assert "faithfulness-run-representations" not in ids  # image-only methods have no map to score


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
