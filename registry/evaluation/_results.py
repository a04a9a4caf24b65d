"""What an evaluation gives back: its rows, a summary with bootstrap intervals, a figure, and files on disk.

One row per image × backbone × method × target (`COLUMNS`); the summary is, per method × backbone × score,
the mean and a seeded 95 % percentile-bootstrap interval over images (Efron & Tibshirani 1993), so two
methods whose intervals overlap are not told apart. Files: rows.parquet (pyarrow) and rows.csv, summary.csv,
summary.png; parts/ holds rows written while a run goes, so a stopped run resumes where it was.

Every CSV is written by `write_csv`, which keeps a spreadsheet from reading a text cell as a formula: image names
come from a client's zip and class names from a client's model, and "=HYPERLINK(…)" must open as text.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from typing_extensions import deprecated

from registry.evaluation._extras import require

__all__ = [
    "COLUMNS",
    "SCORES",
    "Evaluation",
    "RowStore",
    "bootstrap_interval",
    "row_key",
    "spreadsheet_cell",
    "summarise",
    "summarize",
    "summary_figure",
    "write_csv",
]

# name: pyarrow type name ("string", "int64", "float64", "bool"); every row has every column (None: not scored).
COLUMNS = {
    "image": "string",
    "kind": "string",
    "backbone": "string",
    "method": "string",
    "target": "int64",
    "target_label": "string",
    "cell": "int64",
    "label": "string",
    "predicted": "int64",
    "predicted_label": "string",
    "probability": "float64",
    "top1": "bool",
    "top5": "bool",
    "pointing_game": "bool",
    "energy": "float64",
    "deletion_auc": "float64",
    "insertion_auc": "float64",
    "random_deletion_auc": "float64",
    "random_insertion_auc": "float64",
    "grid_pointing_game": "float64",
    "average_drop": "float64",
    "increase_in_confidence": "bool",
    "road": "float64",
    "road_morf": "float64",
    "road_lerf": "float64",
    "arcc": "float64",
    "complexity": "float64",
    "coherency": "float64",
    "map_zero": "bool",
    "untrained": "bool",
    "settings": "string",
    "error": "string",
}
# The numbers the summary averages, in the order it shows them. Accuracy is counted once per image and backbone.
SCORES = (
    "top1",
    "top5",
    "pointing_game",
    "energy",
    "deletion_auc",
    "random_deletion_auc",
    "insertion_auc",
    "random_insertion_auc",
    "grid_pointing_game",
    "average_drop",
    "increase_in_confidence",
    "road",
    "road_morf",
    "road_lerf",
    "arcc",
    "complexity",
    "coherency",
)
RESAMPLES = 1000
SEED = 0
# What starts a formula in Excel, LibreOffice or Google Sheets (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet opens as what it is: text that starts like a formula gets a leading single quote
    (OWASP's advice), so it shows as text and never runs; numbers, negative ones too, stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Path:
    """`rows` as a CSV of `columns` (None: an empty cell; other keys left out), every cell `spreadsheet_cell`.
    The one CSV writer of the registry and the app."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if row.get(key) is None else spreadsheet_cell(row.get(key)) for key in columns})
    return path


def row_key(row: dict[str, Any]) -> tuple:
    """A row's identity for resuming: its image (or grid), backbone, method, what it explains and the settings.

    What it explains is the label as written (or the grid cell), not the class chosen from it: a rerun knows it
    before any model runs, so finished images are skipped without being decoded."""
    return (row["image"], row["backbone"], row["method"] or "", row["label"], row["cell"], row["settings"])


def bootstrap_interval(values: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """The 95 % percentile-bootstrap interval of the mean of `values` (seeded: the same values, the same
    interval). One value gives (value, value); none gives (NaN, NaN)."""
    data = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    if data.size == 0:
        return float("nan"), float("nan")
    if data.size == 1:
        return float(data[0]), float(data[0])
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def summarize(rows: Iterable[dict[str, Any]], resamples: int = RESAMPLES, seed: int = SEED) -> list[dict[str, Any]]:
    """Per method × backbone × score: the count, the mean and its 95 % bootstrap interval (rows with an error,
    and scores a row lacks, left out). Accuracy rows have method "" (per image and backbone, whatever the method)."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if row.get("error"):
            continue
        for score in SCORES:
            value = row.get(score)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            method = row["method"] or ""
            if score in ("top1", "top5"):
                if (row["image"], row["backbone"], score) in seen:
                    continue
                seen.add((row["image"], row["backbone"], score))
                method = ""
            groups.setdefault((method, row["backbone"], score), []).append(float(value))
    summary = []
    for (method, backbone, score), values in sorted(groups.items(), key=lambda item: _order(item[0])):
        low, high = bootstrap_interval(values, resamples, seed)
        summary.append(
            {
                "method": method,
                "backbone": backbone,
                "score": score,
                "n": len(values),
                "mean": float(np.mean(values)),
                "low": low,
                "high": high,
            }
        )
    return summary


summarise = deprecated(
    "registry.evaluation.summarise is spelled summarize now; the old name goes in the next release.", stacklevel=2
)(summarize)


def _order(key: tuple[str, str, str]) -> tuple:
    method, backbone, score = key
    return (SCORES.index(score), method, backbone)


def summary_figure(summary: Sequence[dict[str, Any]]) -> Image.Image:
    """TorchRay's table as a picture: a panel per score, methods down, backbones across, each cell coloured by
    its mean and written "mean [low, high]"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [score for score in SCORES if any(entry["score"] == score for entry in summary)]
    if not scores:
        figure, axis = plt.subplots(figsize=(4, 1.2))
        axis.axis("off")
        axis.text(0.5, 0.5, "no scores to show", ha="center", va="center")
        return _picture(figure)
    backbones = list(dict.fromkeys(entry["backbone"] for entry in summary))
    width = max(4.0, 1.9 * len(backbones) + 2.2)
    methods_of = {s: list(dict.fromkeys(e["method"] or "(all)" for e in summary if e["score"] == s)) for s in scores}
    heights = [0.55 * len(methods_of[s]) + 0.9 for s in scores]
    figure, axes = plt.subplots(len(scores), 1, figsize=(width, sum(heights)), height_ratios=heights, squeeze=False)
    for axis, score in zip(axes[:, 0], scores):
        methods = methods_of[score]
        table = np.full((len(methods), len(backbones)), np.nan)
        text = [["" for _ in backbones] for _ in methods]
        for entry in summary:
            if entry["score"] != score:
                continue
            i, j = methods.index(entry["method"] or "(all)"), backbones.index(entry["backbone"])
            table[i, j] = entry["mean"]
            text[i][j] = f"{entry['mean']:.3f}\n[{entry['low']:.3f}, {entry['high']:.3f}]"
        higher_better = score not in ("deletion_auc",)
        axis.imshow(table, cmap="viridis" if higher_better else "viridis_r", vmin=0, vmax=1, aspect="auto")
        for i in range(len(methods)):
            for j in range(len(backbones)):
                axis.text(j, i, text[i][j], ha="center", va="center", fontsize=7, color="white")
        axis.set_xticks(range(len(backbones)), backbones, fontsize=7)
        axis.set_yticks(range(len(methods)), methods, fontsize=7)
        axis.set_title(f"{score.replace('_', ' ')} ({'higher' if higher_better else 'lower'} is better)", fontsize=8)
    figure.tight_layout()
    return _picture(figure)


def _picture(figure) -> Image.Image:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def schema():
    pa = require("pyarrow")

    return pa.schema([(name, getattr(pa, "bool_" if kind == "bool" else kind)()) for name, kind in COLUMNS.items()])


def table_of(rows: Sequence[dict[str, Any]]):
    """The rows as a pyarrow Table with the fixed schema (every column, in order)."""
    pa = require("pyarrow")

    return pa.Table.from_pylist([{name: row.get(name) for name in COLUMNS} for row in rows], schema=schema())


class RowStore:
    """Rows already finished in `out` (rows.parquet and parts/), and new rows written there as they come, in
    parts of `flush_every` rows, so a run stopped half-way keeps what it finished. A subclass keeps other columns
    (`columns`, `table`): the audit's maps."""

    columns: dict[str, Any] = COLUMNS

    def __init__(self, out: str | Path | None, flush_every: int = 256):
        self.out = Path(out) if out is not None else None
        self.flush_every = flush_every
        self.old: list[dict[str, Any]] = []
        self.new: list[dict[str, Any]] = []
        self._unflushed = 0
        self._run = uuid.uuid4().hex[:8]
        self._parts = 0
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            self.old = self._read()

    def _read(self) -> list[dict[str, Any]]:
        pq = require("pyarrow.parquet")

        files = ([self.out / "rows.parquet"] if (self.out / "rows.parquet").is_file() else []) + sorted(
            (self.out / "parts").glob("*.parquet")
        )
        rows: dict[tuple, dict[str, Any]] = {}
        for path in files:
            for row in pq.read_table(path).to_pylist():
                rows[row_key(row)] = {name: row.get(name) for name in self.columns}
        return list(rows.values())

    def done(self) -> set[tuple]:
        return {row_key(row) for row in self.old if not row.get("error")} | {row_key(row) for row in self.new}

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        self.new.extend(rows)
        self._unflushed += len(rows)
        if self.out is not None and self._unflushed >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.out is None or not self._unflushed:
            return
        pq = require("pyarrow.parquet")
        (self.out / "parts").mkdir(exist_ok=True)
        part = self.out / "parts" / f"{self._run}-{self._parts:05d}.parquet"
        pq.write_table(self.table(self.new[-self._unflushed :]), part)
        self._parts += 1
        self._unflushed = 0

    def table(self, rows: Sequence[dict[str, Any]]):
        return table_of(rows)

    def rows(self) -> list[dict[str, Any]]:
        """Every row, old ones replaced by a new row of the same key (an error retried)."""
        merged = {row_key(row): row for row in self.old}
        merged.update({row_key(row): row for row in self.new})
        return list(merged.values())


@dataclass
class Evaluation:
    """The result of `registry.evaluate`: `rows` (dicts, one per image × backbone × method × target, the keys of
    `COLUMNS`), `table` (the same as a pyarrow Table), `summary`, `figure`, and where the files went."""

    rows: list[dict[str, Any]]
    seconds: float = 0.0
    out: Path | None = None
    computed: int = 0  # rows computed by this run (the rest were already in `out`)
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run ended before every row (its request's budget, or Stop): a sentence
    _summary: list[dict[str, Any]] | None = field(default=None, repr=False)
    _figure: Image.Image | None = field(default=None, repr=False)

    @property
    def table(self):
        return table_of(self.rows)

    @property
    def summary(self) -> list[dict[str, Any]]:
        if self._summary is None:
            self._summary = summarize(self.rows)
        return self._summary

    @property
    def figure(self) -> Image.Image:
        if self._figure is None:
            self._figure = summary_figure(self.summary)
        return self._figure

    def mean(self, score: str, method: str = "", backbone: str | None = None) -> float:
        """The summary's mean of one score (NaN when absent); `backbone` None: the first backbone's."""
        for entry in self.summary:
            if entry["score"] == score and entry["method"] == method and backbone in (None, entry["backbone"]):
                return entry["mean"]
        return float("nan")

    def save(self, out: str | Path, everything: Sequence[dict[str, Any]] | None = None) -> Path:
        """rows.parquet and rows.csv (`everything` the folder holds, by default these rows), summary.csv and
        summary.png (these rows) in `out`; parts/ folded into rows.parquet."""
        pq = require("pyarrow.parquet")

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        everything = self.rows if everything is None else everything
        pq.write_table(table_of(everything), out / "rows.parquet")
        write_csv(out / "rows.csv", COLUMNS, everything)
        write_csv(out / "summary.csv", ["method", "backbone", "score", "n", "mean", "low", "high"], self.summary)
        self.figure.save(out / "summary.png")
        if (out / "parts").is_dir():
            for part in sorted((out / "parts").glob("*.parquet")):
                part.unlink()
            if not any((out / "parts").iterdir()):
                (out / "parts").rmdir()
        self.out = out
        return out
