"""The Audit tab through the served app (gradio_client): /strategies on crops of the bundled samples, /concepts, and
bad input answered in sentences with the next request served. Structure only, so a tiny untrained timm model
(`test_efficientnet`) computes the maps; registry/audit's own tests judge the behaviour on real weights."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from app import audit_tab

pytestmark = pytest.mark.server

TINY = {"backbone": "test_efficientnet", "allow_untrained": True}  # 1,000 classes, milliseconds a pass


def _png(side: tuple[int, int], seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side[1], side[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(path: Path, entries: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return handle_file(str(path))


def _strategies(client, **inputs):
    return client.predict(**{**TINY, **inputs}, api_name="/strategies")


def _concepts(client, concepts: str, **inputs):
    return client.predict(concepts=concepts, random_sets=2, **{**TINY, **inputs}, api_name="/concepts")


def test_both_endpoints_are_documented_with_named_parameters(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    common = ["source", "archive", "target", "by"]
    model = ["backbone", "allow_untrained"]
    for name, own in (("/strategies", ["method", "clusters"]), ("/concepts", ["concepts", "random_sets"])):
        assert [p["parameter_name"] for p in endpoints[name]["parameters"]] == [*common, *own, *model], name
    types = {p["parameter_name"]: p["python_type"]["type"] for p in endpoints["/strategies"]["parameters"]}
    assert (types["method"], types["target"]) == ("str", "int | str")  # no list of every method or class


def test_strategies_on_the_bundled_samples_give_a_figure_sentences_and_rows(client):
    figure, sentences, rows = _strategies(client)
    assert Image.open(figure).size[0] > 300
    assert f"{audit_tab.CROPS} images of 'tabby, tabby cat'" in sentences and "Strategy 1:" in sentences
    assert "crops of the bundled cat.png" in sentences
    with open(rows) as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == audit_tab.CROPS and {row["strategy"] for row in read} >= {"1", "2"}
    assert all("/" not in row["image"] for row in read)  # file names, never server paths


def test_a_class_with_too_few_images_says_how_many_are_needed_and_the_next_request_is_served(client, tmp_path):
    archive = _zip(tmp_path / "few.zip", {f"281/{i}.png": _png((64, 64), i) for i in range(3)})
    with pytest.raises(AppError, match="Strategies need at least 10 images of class 'tabby, tabby cat'.*holds 3"):
        _strategies(client, source=audit_tab.ZIP, archive=archive, target=281)
    with pytest.raises(AppError, match="need at least 15 images of the class"):  # five strategies: three images each
        _strategies(client, source=audit_tab.ZIP, archive=archive, clusters=5)
    assert client.predict(TINY["backbone"], True, api_name="/learn_network")  # and it keeps serving


def test_images_of_mixed_sizes_are_grouped(client, tmp_path):
    sizes = [(40, 90), (300, 120), (64, 64), (129, 257)]
    entries = {f"281/{i}.png": _png(sizes[i % 4], i) for i in range(12)}  # and another class's two, left out
    archive = _zip(
        tmp_path / "mixed.zip", {**entries, "282/a.png": _png((50, 50), 90), "282/b.png": _png((70, 30), 91)}
    )
    figure, sentences, rows = _strategies(client, source=audit_tab.ZIP, archive=archive)
    assert Image.open(figure).size[0] > 300 and "12 images of 'tabby, tabby cat'" in sentences
    assert "Strategy 1:" in sentences and len(Path(rows).read_text().splitlines()) == 13


@pytest.mark.parametrize(
    "entries,message",
    [
        ({"../escape.png": b"x", "notes.txt": b"hello"}, "The zip holds no images"),
        ({f"{i}.png": b"x" for i in range(201)}, "The zip holds 201 images; the limit is 200"),
    ],
    ids=["zip-slip only", "over the cap"],
)
def test_evaluates_zip_rules_hold_for_the_audit(client, tmp_path, entries, message):
    archive = _zip(tmp_path / "hostile.zip", entries)
    with pytest.raises(AppError, match=message):
        _strategies(client, source=audit_tab.ZIP, archive=archive)
    with pytest.raises(AppError, match=message):
        _concepts(client, archive)
    with pytest.raises(AppError, match="Upload a zip of images first"):
        _strategies(client, source=audit_tab.ZIP)


def _concept_zip(path: Path, folders: dict[str, int], loose: int = 0) -> str:
    entries = {
        f"{name}/{i}.png": _png((48, 48), hash(name) % 1000 + i) for name, n in folders.items() for i in range(n)
    }
    entries.update({f"loose_{i}.png": _png((48, 48), i) for i in range(loose)})
    return _zip(path, entries)


@pytest.mark.parametrize(
    "folders,loose,message",
    [
        ({"stripes": 3}, 0, "The set 'stripes' holds 3 image.*needs at least 10"),
        ({}, 12, "holds images but no folders: put each concept's images in a folder of its own"),
        ({"random_1": 10, "random_2": 10, "random_3": 10}, 0, "holds only random sets"),
        ({"stripes": 10, "random_1": 10}, 0, "1 random set.*needs at least 3"),
    ],
    ids=["too small", "no folders", "only random sets", "too few random sets"],
)
def test_concept_zips_that_cannot_be_tested_are_sentences(client, tmp_path, folders, loose, message):
    with pytest.raises(AppError, match=message):
        _concepts(client, _concept_zip(tmp_path / "concepts.zip", folders, loose))
    with pytest.raises(AppError, match="Upload a zip of concept folders first"):
        client.predict(concepts=None, api_name="/concepts")


def test_one_concept_is_tested_against_random_sets_with_its_significance(client, tmp_path):
    folders = {"stripes": 10, "random_a": 10, "random_b": 10, "random_c": 10}
    figure, verdicts, table, rows = _concepts(client, _concept_zip(tmp_path / "one.zip", folders))
    assert Image.open(figure).size[0] > 200
    assert "One concept: it is tested against random sets only" in verdicts
    assert "stripes at" in verdicts and ("not significant" in verdicts or "significant (p" in verdicts)
    assert table["headers"][:2] == ["concept", "layer"] and {row[0] for row in table["data"]} == {"stripes"}
    assert Path(rows).read_text().startswith("concept,layer,score")
