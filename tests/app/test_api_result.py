"""Structured API results, through the served app: the README's script, the JSON against its schema, the raw
map against the Python API's, and the progress words a client hears while a request runs."""

from __future__ import annotations

import ast
import re
import time

import numpy as np
import pytest
from gradio_client import handle_file

import registry
from app.api_result import SCHEMA
from testkit.api import explain
from tests.conftest import ROOT
from tests.test_readme import code_blocks

pytestmark = pytest.mark.server


def test_the_readme_api_script_runs_against_the_app_and_its_comments_are_true(app_server, monkeypatch, capsys):
    script = next(block for block in code_blocks("python") if "gradio_client" in block)
    assert (
        script.count('Client("http://127.0.0.1:7860/")') == 1
    )  # the one thing the test changes: where the app listens
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(script.replace("http://127.0.0.1:7860/", app_server.url), "README.md", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    promised = [line.split("#")[-1].strip() for line in script.splitlines() if line.startswith("print(")]
    assert (
        printed[-len(promised) :] == promised
    )  # each print's comment is what it prints (the client says "Loaded as API" first)
    result, heatmap = namespace["result"], namespace["heatmap"]
    layer = next(comment for comment in promised if comment.startswith("{'name'"))
    assert ast.literal_eval(layer) == result["layer"] and heatmap.dtype == np.float32


def _keys(schema: dict) -> set[str]:
    return set(schema["properties"])


def test_the_json_has_exactly_the_fields_its_schema_declares(client, samples):
    *_, data, raw_map, _ = client.predict(**explain("gradcam", image=handle_file(str(samples["coffee"]))))
    assert set(data) == _keys(SCHEMA)
    assert set(data["layer"]) == _keys(SCHEMA["properties"]["layer"]["anyOf"][0])
    assert set(data["map"]) == _keys(SCHEMA["properties"]["map"]["anyOf"][0])
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    declared = next(r for r in endpoints["/explain"]["returns"] if r["label"] == "json")["python_type"]["type"]
    assert declared.startswith("dict(plugin: str, class: int | None") and "raw_max: float" in declared


def test_the_raw_map_is_the_python_apis_map_in_its_own_units(client, samples, lite0):
    """Saliency clips its brightest 1 % in the picture; the .npy keeps the real numbers."""
    *_, data, raw_map, _ = client.predict(
        **explain("saliency", image=handle_file(str(samples["coffee"])), target="968: cup")
    )
    expected = registry.get_plugin("saliency").run(lite0, samples["coffee"], target=968)
    served = np.load(raw_map)
    np.testing.assert_allclose(served, expected.raw, rtol=1e-5, atol=1e-8)
    assert data["map"]["scale"] == pytest.approx(expected.scale, rel=1e-5) and served.max() > data["map"]["scale"]


def _progress_words(job) -> list[str]:
    """Every progress description the client hears while the job runs, in order."""
    heard: list[str] = []
    while not job.done():
        for unit in job.status().progress_data or []:
            if unit.desc and (not heard or heard[-1] != unit.desc):
                heard.append(unit.desc)
        time.sleep(0.005)
    job.result()  # raise if the request failed
    return heard


def test_a_client_hears_the_model_load_and_the_steps_in_words(client, samples):
    """lite2 is loaded by no other test of this server, so this request really loads it."""
    job = client.submit(
        **explain(
            "scorecam",
            image=handle_file(str(samples["cat"])),
            backbone="tf_efficientnet_lite2",
            channels=16,
            batch_size=4,
        )
    )  # four steps of four masks: cheap, and still a loop that reports
    heard = _progress_words(job)
    assert "Loading tf_efficientnet_lite2…" in heard, heard
    steps = [words for words in heard if re.fullmatch(r"Score-CAM: \d+/\d+", words)]
    assert steps and heard.index(steps[0]) > heard.index("Loading tf_efficientnet_lite2…"), heard
