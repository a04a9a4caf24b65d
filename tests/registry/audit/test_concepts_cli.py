"""`cnnlens concepts` (registry/audit/concepts_cli.py): a folder of concept folders in, rows and a figure out; a
problem in the input is one sentence and exit status 2."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
from PIL import Image

from registry.audit.concepts_cli import main
from testkit.captum_tcav import stripes
from tests.conftest import EXAMPLES


def test_a_folder_of_concepts_gives_rows_and_a_figure(tmp_path, capsys):
    for name, period in (("stripes", 12), ("wide_stripes", 40)):
        (tmp_path / "concepts" / name).mkdir(parents=True)
        for number, picture in enumerate(stripes(10, period, period=period)):
            picture.save(tmp_path / "concepts" / name / f"{number}.png")
    out = tmp_path / "run"
    argv = [str(tmp_path / "concepts"), "--target", "3", "--data", str(EXAMPLES), "--backbone", "test_resnet"]
    argv += ["--weights", "random", "--layers", "layer2", "layer4", "--random-sets", "3", "--random-size", "10"]
    assert main([*argv, "--out", str(out), "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "4 tests" in printed and "wide_stripes at layer4:" in printed
    with open(out / "concepts.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["concept"], row["layer"]) for row in rows] == [
        ("stripes", "layer2"), ("stripes", "layer4"), ("wide_stripes", "layer2"), ("wide_stripes", "layer4")
    ]  # fmt: skip
    assert {row["significant"] for row in rows} <= {"True", "False"} and all(row["p_value"] for row in rows)
    assert pq.read_table(out / "concepts.parquet").column_names[:5] == [
        "concept",
        "layer",
        "score",
        "score_std",
        "random_score",
    ]
    with Image.open(out / "concepts.png") as figure:
        assert figure.width > 300


def test_problems_are_sentences(tmp_path, capsys):
    (tmp_path / "loose").mkdir()
    stripes(1, 0)[0].save(tmp_path / "loose" / "one.png")
    assert (
        main([str(tmp_path / "loose"), "--target", "3", "--backbone", "test_resnet", "--weights", "random", "--quiet"])
        == 2
    )
    said = capsys.readouterr().err
    assert said.startswith("cnnlens concepts: 'loose' holds no folders: put each concept's images in a folder named")
    assert (
        main(
            [
                f"dots={tmp_path / 'loose'}",
                "--target",
                "3",
                "--backbone",
                "test_resnet",
                "--weights",
                "random",
                "--quiet",
            ]
        )
        == 2
    )
    assert "The set 'dots' holds 1 image(s); a concept activation vector needs at least 10" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere.zip"), "--target", "3", "--quiet"]) == 2
    assert "There is no folder or zip called 'nowhere.zip'" in capsys.readouterr().err


def test_a_rerun_computes_only_what_it_has_not_computed_before(tmp_path, capsys, monkeypatch):
    """Resumable like `cnnlens evaluate`: activations and class gradients are kept per set and layer (by weights
    digest), so a rerun with one more concept passes only that concept's images through the model, and gives the
    first concept the same scores (its corrected p-value counts two concepts then)."""
    from registry.audit import _activations

    monkeypatch.setenv("CNNLENS_DATA_DIR", str(tmp_path / "data"))
    passed: list[int] = []
    real_pass = _activations._pass
    monkeypatch.setattr(
        _activations, "_pass", lambda backbone, x, *rest: passed.append(len(x)) or real_pass(backbone, x, *rest)
    )
    for name, period in (("stripes", 12), ("wide_stripes", 40)):
        (tmp_path / name).mkdir()
        for number, picture in enumerate(stripes(10, period, period=period)):
            picture.save(tmp_path / name / f"{number}.png")
    argv = ["--target", "3", "--data", str(EXAMPLES), "--backbone", "test_resnet", "--weights", "random"]
    argv += ["--layers", "layer4", "--random-sets", "3", "--random-size", "10", "--quiet"]

    def rows_after(concepts: list[str], out: str) -> list[dict]:
        passed.clear()
        assert main([*concepts, *argv, "--out", str(tmp_path / out)]) == 0
        with open(tmp_path / out / "concepts.csv") as handle:
            return list(csv.DictReader(handle))

    first = rows_after([f"stripes={tmp_path / 'stripes'}"], "one")
    assert sum(passed) > 10  # the class, the random sets and the concept, computed
    assert rows_after([f"stripes={tmp_path / 'stripes'}"], "again") == first and passed == []  # all read back
    both = rows_after([f"stripes={tmp_path / 'stripes'}", f"wide_stripes={tmp_path / 'wide_stripes'}"], "both")
    assert sum(passed) == 10  # only the new concept's ten images went through the model
    kept = ("score", "score_std", "random_score", "p_value")  # the correction counts both concepts now
    assert [{k: row[k] for k in kept} for row in both if row["concept"] == "stripes"] == [
        {k: row[k] for k in kept} for row in first
    ]
    capsys.readouterr()
