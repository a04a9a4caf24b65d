"""The files an evaluation writes: every CSV opens in a spreadsheet as data, never as a formula."""

import csv
import shutil

import timm
import torch

import registry
from registry.evaluation import evaluate, spreadsheet_cell, write_csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Class names a stranger's model may carry, and file names a stranger's zip may hold (OWASP's examples).
CLASSES = ["=cmd|' /C calc'!A0", "+SUM(1;2)", "@cmd"]
FILES = ['=HYPERLINK("x.example";"open").png', "=1+1.png", "+SUM(1;2).png", "@cmd.png", "-2.png", "\tx.png"]


def _opens_as_text(path) -> list[list[str]]:
    """The CSV's rows, read with the csv module, after checking that no cell would start a formula: a cell that
    starts like one is a number (a negative score) or was not neutralised."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                float(cell)  # raises for a text cell that would run as a formula
    return rows


def test_a_text_cell_that_starts_a_formula_gets_a_quote_and_numbers_stay_numbers():
    assert [spreadsheet_cell(text) for text in ("=1+1", "+1", "-x", "@a", "\tb", "\rc")] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@a",
        "'\tb",
        "'\rc",
    ]
    assert [spreadsheet_cell(value) for value in (-0.25, -3, True, None, "cat.png", "a=b")] == [
        -0.25,
        -3,
        True,
        None,
        "cat.png",
        "a=b",
    ]


def test_write_csv_keeps_negative_numbers_and_quotes_formulas(tmp_path):
    rows = [{"image": "=1+1.png", "energy": -0.5, "top1": False, "error": None}]
    read = _opens_as_text(write_csv(tmp_path / "rows.csv", ["image", "energy", "top1", "error"], rows))
    assert read == [["image", "energy", "top1", "error"], ["'=1+1.png", "-0.5", "False", ""]]


def test_an_evaluation_of_formula_named_images_on_a_formula_labelled_model_writes_csvs_that_open_as_text(
    tmp_path, samples
):
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", num_classes=len(CLASSES))
    backbone = registry.wrap_model(model, "-model", labels=CLASSES, device="cpu", untrained=True)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    data = []
    for index, name in enumerate(FILES):
        shutil.copy(samples["cat"], pictures / name)
        data.append((str(pictures / name), str(index % len(CLASSES)), "10,10,200,200"))
    result = evaluate(data, [backbone], ["gradcam"], ["top1", "energy"], out=tmp_path / "run")
    assert len(result.rows) == len(FILES) and not result.errors
    rows = _opens_as_text(tmp_path / "run" / "rows.csv")
    header = rows[0]
    labels = {row[header.index("target_label")] for row in rows[1:]}
    assert labels <= {"'" + name for name in CLASSES} and {row[header.index("backbone")] for row in rows[1:]} == {
        "'-model"
    }
    _opens_as_text(tmp_path / "run" / "summary.csv")
