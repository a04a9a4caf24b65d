"""The command line: `python -m registry.evaluation` (what `cnnlens evaluate` runs) prints the summary and writes
the files; a bad input is one sentence and exit status 2."""

import runpy
import sys

import pyarrow.parquet as pq
import pytest

from registry.evaluation.cli import main


def test_a_run_prints_the_summary_and_writes_the_files(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["samples", "--backbones", "test_resnet", "--weights", "random", "--methods", "gradcam", "saliency"]
    status = main([*argv, "--metrics", "top1", "energy", "--workers", "0", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert status == 0
    rows = pq.read_table(out / "rows.parquet").num_rows  # two methods on each labelled sample
    assert "energy" in printed and "saliency" in printed and f"{rows} rows ({rows} computed now)" in printed
    assert rows >= 12 and rows % 2 == 0
    assert sorted(path.name for path in out.iterdir()) == ["rows.csv", "rows.parquet", "summary.csv", "summary.png"]
    assert main([*argv, "--metrics", "top1", "energy", "--out", str(out), "--quiet"]) == 0
    assert f"{rows} rows (0 computed now)" in capsys.readouterr().out  # resumed: nothing left to do


def test_problems_are_sentences(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"cnnlens evaluate: There is no folder or file called '{tmp_path / 'nowhere'}'."
    )
    assert main(["samples", "--backbones", "resnet_9000", "--quiet"]) == 2
    assert "is not a timm model" in capsys.readouterr().err


def test_python_dash_m_runs_the_command(monkeypatch, capsys):
    """`python -m registry.evaluation` is registry/evaluation/__main__.py: run here, not in a new interpreter (its
    imports alone take seconds)."""
    monkeypatch.setattr(sys, "argv", ["registry.evaluation", "--help"])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_module("registry.evaluation", run_name="__main__")
    assert stopped.value.code == 0
    shown = capsys.readouterr().out
    assert "--backbones" in shown and "grid_pointing_game" in shown
    assert all(name in shown for name in ("road", "arcc", "average_drop", "increase_in_confidence"))
