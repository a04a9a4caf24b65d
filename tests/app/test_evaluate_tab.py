"""The Evaluate tab: the handler on the samples and on a zip, and /evaluate through the served app."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from app import evaluate_tab
from registry.imaging import EXAMPLES


def _quiet(*_args, **_kwargs) -> None:
    return None


def _summary(table: dict) -> dict[tuple[str, str], float]:
    headers = table["headers"]
    method, score, mean = (headers.index(name) for name in ("method", "score", "mean"))
    return {(row[method], row[score]): row[mean] for row in table["data"]}


def test_the_bundled_samples_with_gradcam_on_the_default_backbone():
    table, figure, rows, note = evaluate_tab.run_evaluate(
        evaluate_tab.SAMPLES, None, None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1", "pointing_game"], _quiet
    )
    means = _summary(table)
    assert 0.5 <= means[("", "top1")] <= 1 and 0.5 <= means[("gradcam", "pointing_game")] <= 1
    assert isinstance(figure, Image.Image) and "backbones × 1 methods" in note
    with open(rows) as handle:
        read = list(csv.DictReader(handle))
    assert read and all("/" not in row["image"] for row in read)  # file names, never server paths


def test_a_zip_refuses_paths_outside_it_and_skips_what_is_not_an_image(tmp_path):
    archive = tmp_path / "data.zip"
    pictures = sorted(Path(EXAMPLES).glob("*.png"))[:2]
    with zipfile.ZipFile(archive, "w") as zipped:
        for picture in pictures:
            zipped.write(picture, f"images/{picture.name}")
        zipped.writestr("../escape.png", b"not really")
        zipped.writestr("images/readme.txt", "hello")
    folder = tmp_path / "out"
    count, notes = evaluate_tab.extract(str(archive), folder)
    assert count == len(pictures) and not (tmp_path / "escape.png").exists()
    assert any("1 entry with a path outside the zip refused" in n for n in notes)
    assert any("1 file that are not images skipped" in n for n in notes)
    assert sorted(p.name for p in (folder / "images").iterdir()) == sorted(p.name for p in pictures)


def test_too_many_maps_and_missing_choices_are_refused_in_words():
    with pytest.raises(gr.Error, match="the limit is 600"):
        evaluate_tab._bounded(200, ["a", "b"], ["gradcam", "saliency"])
    with pytest.raises(gr.Error, match="Choose at least one method"):
        evaluate_tab.run_evaluate(evaluate_tab.SAMPLES, None, None, ["tf_efficientnet_lite0"], [], ["top1"], _quiet)
    with pytest.raises(gr.Error, match="Upload a zip"):
        lite0 = ["tf_efficientnet_lite0"]
        evaluate_tab.run_evaluate(evaluate_tab.ZIP, None, None, lite0, ["gradcam"], ["top1"], _quiet)


def test_evaluate_endpoint_on_a_zip(app_server, tmp_path):
    client = Client(app_server.url, verbose=False)
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for picture in sorted(Path(EXAMPLES).glob("*.png"))[:2]:
            zipped.write(picture, picture.name)
        zipped.writestr("notes.txt", "hello")
    table, figure, rows, note = client.predict(
        evaluate_tab.ZIP,
        handle_file(str(archive)),
        None,
        ["tf_efficientnet_lite0"],
        ["gradcam"],
        ["top1", "energy"],
        api_name="/evaluate",
    )
    assert "2 images" in note and "not images skipped" in note
    assert Image.open(figure).size[0] > 100 and Path(rows).suffix == ".csv"
    written = Path(rows).read_text()
    assert all(picture.name in written for picture in sorted(Path(EXAMPLES).glob("*.png"))[:2])  # a row per image
    assert "headers" in table  # unlabelled, unboxed images: no score applies, so the summary has no rows
    with pytest.raises(AppError, match="Choose at least one backbone"):
        client.predict(evaluate_tab.SAMPLES, None, None, [], ["gradcam"], ["top1"], api_name="/evaluate")
