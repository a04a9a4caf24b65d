"""The Evaluate tab: the handler on the samples and on a zip, and /evaluate through the served app."""

from __future__ import annotations

import csv
import json
import time
import zipfile
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from app import evaluate_tab
from registry.evaluation import NOT_IN_UPLOAD
from registry.imaging import EXAMPLES, labelled_samples

CAT, COFFEE = Path(EXAMPLES) / "cat.png", Path(EXAMPLES) / "coffee.png"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _quiet(*_args, **_kwargs) -> None:
    return None


def _summary(table: dict) -> dict[tuple[str, str], float]:
    headers = table["headers"]
    method, score, mean = (headers.index(name) for name in ("method", "score", "mean"))
    return {(row[method], row[score]): row[mean] for row in table["data"]}


def test_the_bundled_samples_with_gradcam_on_the_default_backbone():
    table, figure, rows, note, gallery = evaluate_tab.run_evaluate(
        evaluate_tab.SAMPLES, None, None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1", "pointing_game"], _quiet
    )
    means = _summary(table)
    assert 0.5 <= means[("", "top1")] <= 1 and 0.5 <= means[("gradcam", "pointing_game")] <= 1
    assert isinstance(figure, Image.Image) and "1 backbone × 1 method in" in note
    left = [sample.file for sample in labelled_samples().values() if not sample.classes]  # retina, ...
    assert left and all(file in note for file in left) and "no ImageNet class to score" in note  # the page shows all
    with open(rows) as handle:
        read = list(csv.DictReader(handle))
    assert read and all("/" not in row["image"] for row in read)  # file names, never server paths
    # Issue 38: each image with its prediction, right or wrong, and its map, on the page (not only in the CSV)
    captions = [caption for _picture, caption in gallery]
    assert len(gallery) == len({row["image"] for row in read if row["kind"] == "image"}) <= evaluate_tab.GALLERY
    assert any(c.startswith("clock.png · ❌ wrong: 971 bubble (true: 892 or 409)") for c in captions), captions
    assert any(c.startswith("coffee.png · ✅ right: 967 espresso") for c in captions), captions
    assert all(picture.size == (224, 224) for picture, _caption in gallery)


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
    table, figure, rows, note, _gallery = client.predict(
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


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return path


def _pictures(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A zip of cat.png and coffee.png, with `extra` entries."""
    return _zip(path, {"cat.png": CAT.read_bytes(), "coffee.png": COFFEE.read_bytes(), **(extra or {})})


def test_a_long_name_is_refused_and_quoted_short():
    lite0 = ["tf_efficientnet_lite0"]
    for backbones, methods in ((lite0, ["m" * 10_000]), (["b" * 10_000], ["gradcam"])):
        with pytest.raises(gr.Error) as refused:
            evaluate_tab.run_evaluate(evaluate_tab.SAMPLES, None, None, backbones, methods, ["top1"], _quiet)
        assert "(10,000 characters) is longer than any" in str(refused.value) and len(str(refused.value)) < 200


def _evaluate_zip(client: Client, archive: Path, metrics: tuple[str, ...] | list[str] = ("top1",)):
    """/evaluate of Grad-CAM on lite0 over `archive`: (table, figure, rows.csv, note)."""
    zipped = handle_file(str(archive))
    return client.predict(
        evaluate_tab.ZIP, zipped, None, ["tf_efficientnet_lite0"], ["gradcam"], list(metrics), api_name="/evaluate"
    )


def test_a_zip_entry_whose_name_starts_with_nul_is_refused_not_a_traceback(tmp_path):
    archive = _zip(tmp_path / "data.zip", {"cat.png": CAT.read_bytes(), "Xevil.png": b"x"})
    archive.write_bytes(archive.read_bytes().replace(b"Xevil.png", b"\x00evil.png"))  # zipfile reads it back as ""
    count, notes = evaluate_tab.extract(str(archive), tmp_path / "out")
    assert count == 1 and any("1 entry with a path outside the zip refused" in note for note in notes)


def test_the_map_cap_counts_manifest_rows_before_any_map(tmp_path):
    """700 rows over 2 images are 700 maps: refused at once. 700 copies of 2 rows are 2 rows, computed once."""
    lines = "".join(f"{'cat' if i % 2 else 'coffee'}.png,{i}\n" for i in range(700))
    archive = _pictures(tmp_path / "rows.zip", {"list.csv": ("path,label\n" + lines).encode()})
    started = time.perf_counter()
    with pytest.raises(gr.Error, match="700 images × 1 backbone × 1 method is 700 maps; the limit is 600"):
        evaluate_tab.run_evaluate(
            evaluate_tab.ZIP, str(archive), None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1"], _quiet
        )
    assert time.perf_counter() - started < 5  # nothing was computed
    copied = "path,label\n" + "cat.png,281\ncoffee.png,967\n" * 350
    copies = _pictures(tmp_path / "copies.zip", {"list.csv": copied.encode()})
    _, _, rows, note, _ = evaluate_tab.run_evaluate(
        evaluate_tab.ZIP, str(copies), None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1"], _quiet
    )
    with open(rows, newline="") as handle:
        assert sorted(row["image"] for row in csv.DictReader(handle)) == ["cat.png", "coffee.png"]
    assert note.startswith("**2 images × 1 backbone × 1 method in")


@pytest.mark.server
def test_a_manifest_naming_server_files_gets_one_reply_and_the_next_request_is_served(app_server, tmp_path):
    client = Client(app_server.url, verbose=False)
    replies = {}
    for named in ("/etc/hostname", "/etc/nonexistent", "/etc", "/proc/self/environ", "../../../etc/passwd"):
        archive = _pictures(tmp_path / "data.zip", {"list.csv": f"path,label\ncat.png,281\n{named},967\n".encode()})
        with pytest.raises(AppError) as refused:
            _evaluate_zip(client, archive)
        replies[named] = str(refused.value)
    assert set(replies.values()) == {NOT_IN_UPLOAD.format(count=1, name="list.csv", lines="3")}
    assert "2 images" in _evaluate_zip(client, _pictures(tmp_path / "good.zip"))[3]


@pytest.mark.server
@pytest.mark.parametrize(
    "name,data,message",
    [
        ("list.jsonl", json.dumps({"path": "cat.png", "box": [0, 0, "inf", "inf"]}), "none infinite"),
        ("list.json", "[" * 100_000 + "]" * 100_000, "list.json is not JSON"),
        ("list.jsonl", json.dumps({"path": "cat.png", "label": "5" * 5_000}), "(5,000 characters)"),
    ],
)
def test_hostile_manifests_are_sentences_and_the_next_request_is_served(app_server, tmp_path, name, data, message):
    client = Client(app_server.url, verbose=False)
    archive = _pictures(tmp_path / "data.zip", {name: data.encode()})
    with pytest.raises(AppError) as refused:
        _evaluate_zip(client, archive)
    assert message in str(refused.value) and len(str(refused.value)) < 500
    assert client.predict(handle_file(str(COFFEE)), api_name="/predict")["label"] == "967: espresso"  # still served


@pytest.mark.server
def test_a_zip_of_formula_named_images_gives_a_csv_whose_cells_open_as_text(app_server, tmp_path):
    names = ['=HYPERLINK("x.example";"open").png', "=1+1.png", "+SUM(1;2).png", "@cmd.png", "-2.png", "\tx.png"]
    archive = _zip(tmp_path / "formulas.zip", {name: CAT.read_bytes() for name in names})
    client = Client(app_server.url, verbose=False)
    _, _, rows, _, _ = _evaluate_zip(client, archive, ["top1", "energy"])
    with open(rows, newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert sorted(row["image"] for row in read) == sorted("'" + name for name in names)
    for row in read:
        for cell in row.values():
            if cell.startswith(FORMULA_STARTS):
                float(cell)  # a number (a negative score) may start with "-"; a text cell never does
