"""`registry.strategies`: the ways a model decides one class across a dataset (SpRAy, Lapuschkin et al. 2019).

    found = registry.strategies("val/", "tf_efficientnet_lite0", target="tabby", out="runs/audit")
    found.strategies[0].sentence, found.figure    # the most unusual strategy first; runs/audit/strategies.png

The maps come from Evaluate's batched pass on its readers and engines (local, or Ray), each kept on a 16 × 16
grid; `_cluster` groups them. A shortcut is usually a minority strategy with its heat off the object, so the
strategies are ordered by how unusual they are: small, off-object, off-centre, on the border first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from registry.audit._cluster import Clusters, cluster
from registry.audit._describe import Scores, describe, scores, unusualness
from registry.audit._figure import strategies_figure
from registry.audit._store import MapStore
from registry.evaluation import (
    DataError,
    EvaluationEngine,
    EvaluationProtocol,
    Settings,
    ViewMaker,
    evaluate,
    extract_zip,
    records,
    resolve_labels,
    unpacked_records,
    write_csv,
)
from registry.imaging import render
from registry.methods._plugin import Progress
from registry.models import DEFAULT_BACKBONE, Backbone, class_index, load_backbone

__all__ = ["GRID", "MIN_IMAGES", "ROW_COLUMNS", "Strategies", "Strategy", "strategies"]

GRID = 16  # each map is compared on a GRID × GRID grid
MIN_IMAGES = 10  # fewer images than this make no neighbourhoods to group
TYPICAL = 4  # members shown per strategy
MEAN_IMAGE_FROM = 16  # the mean image averages the strategy's most typical members, at most this many
# name: pyarrow type name; one row per image of the class
ROW_COLUMNS = {
    "image": "string",
    "backbone": "string",
    "method": "string",
    "target": "int64",
    "target_label": "string",
    "label": "string",
    "predicted_label": "string",
    "probability": "float64",
    "strategy": "int64",
    "typicality": "float64",
    "x": "float64",
    "y": "float64",
    "border": "float64",
    "outside": "float64",
    "centre_x": "float64",
    "centre_y": "float64",
    "settings": "string",
}
SUMMARY_COLUMNS = ("strategy", "size", "share", "border", "outside", "centre_x", "centre_y", "unusual", "sentence")


@dataclass
class Strategy:
    """One way the model decides the class: its rank (1: the most unusual), members, mean map and what it says."""

    rank: int
    members: list[str]
    mean_map: np.ndarray  # GRID × GRID, max 1
    scores: Scores
    unusual: float
    sentence: str
    typical: list[str]  # the members nearest the strategy's mean map, most typical first
    picture: Image.Image | None = field(default=None, repr=False)  # the mean map over the mean image
    overlays: list[Image.Image] = field(default_factory=list, repr=False)  # the typical members' maps
    total: int = 0  # images of the class

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class Strategies:
    """What `strategies` found: the `strategies` (most unusual first), one row per image (`ROW_COLUMNS`), the
    figure, the eigenvalues the count came from, and where the files went."""

    target: int
    target_label: str
    strategies: list[Strategy]
    rows: list[dict[str, Any]]
    figure: Image.Image
    eigenvalues: np.ndarray
    seconds: float = 0.0
    map_seconds: float = 0.0  # of `seconds`, computing the maps (Evaluate's pass); the rest groups and draws them
    computed: int = 0  # maps computed by this run (the rest were read back from `out`)
    errors: list[str] = field(default_factory=list)
    out: Path | None = None

    def save(self, out: str | Path) -> Path:
        """strategies.parquet, strategies.csv (one row per image), strategies_summary.csv and strategies.png."""
        from registry.evaluation._extras import require

        pa, pq = require("pyarrow"), require("pyarrow.parquet")
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        schema = pa.schema(
            [(name, getattr(pa, "bool_" if kind == "bool" else kind)()) for name, kind in ROW_COLUMNS.items()]
        )
        table = pa.Table.from_pylist(
            [{name: row.get(name) for name in ROW_COLUMNS} for row in self.rows], schema=schema
        )
        pq.write_table(table, out / "strategies.parquet")
        write_csv(out / "strategies.csv", ROW_COLUMNS, self.rows)
        write_csv(out / "strategies_summary.csv", SUMMARY_COLUMNS, [_summary_row(s) for s in self.strategies])
        self.figure.save(out / "strategies.png")
        self.out = out
        return out


def strategies(
    data: Any,
    backbone: str | Backbone = DEFAULT_BACKBONE,
    target: int | str | None = None,
    method: str = "gradcam",
    *,
    clusters: int | None = None,
    out: str | os.PathLike | None = None,
    engine: EvaluationEngine | str = EvaluationEngine(),
    device: str | None = None,
    weights: str | None = None,
    layer: str | None = None,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Strategies:
    """Group the maps of class `target`'s images by where the model looks, the most unusual group first.

    Args:
        data: what `registry.evaluate` reads: a folder (by class, or unlabelled), a manifest (boxes and masks
            give each strategy's share of heat outside the object), ``"samples"``, or a list.
        backbone: a timm name (with `device`, `weights`), or a loaded `Backbone` on the local engine (Ray's workers
            each load the model by its name and `weights`).
        target: the class, by number or name. Labelled images are taken by their label; unlabelled ones when
            the model predicts the class. None: the class most images are labelled (or predicted) as.
        method: the heatmap method (a CAM or saliency reads Evaluate's batched shared pass).
        clusters: how many strategies; None: the eigengap decides (2 … 8).
        out: a folder for the rows, summary and figure; a rerun reads back the maps it has (maps/).
        engine: Evaluate's engine (`EvaluationEngine`, or "local" / "ray").
        layer, params: the method's layer and parameters.
        seed: for the embedding, k-means and the layout (the same seed, the same strategies).
        progress: ``progress(fraction, words)`` while the maps are computed.

    Raises:
        DataError: the data cannot be read, or holds fewer than `MIN_IMAGES` images of the class.
        ValueError: an unknown class, method or engine, in a sentence.
    """
    started = time.perf_counter()
    engine_name = engine if isinstance(engine, str) else engine.name
    loaded = (
        backbone
        if isinstance(backbone, Backbone)
        else load_backbone(backbone, device="cpu" if engine_name == "ray" else device, weights=weights)
    )
    with contextlib.ExitStack() as stack:  # a zip's folder lives as long as the call
        found = records(_unpacked(data, out, stack))
        resolved = resolve_labels([record.label for record in found], loaded)
        wanted = None if target is None else class_index(target, loaded.labels)
        if wanted is None and any(record.label is not None for record in found):
            counts = np.bincount(
                [c for record in found if record.label for c in resolved[record.label][:1]],
                minlength=loaded.num_classes,
            )
            wanted = int(np.argmax(counts))
        chosen = [r for r in found if r.label is None or (wanted is not None and wanted in resolved[r.label])]
        _enough(len(chosen), loaded, wanted, clusters, "labelled or unlabelled")
        key = Settings(
            metrics=("energy",),
            layer=layer,
            params=((method, json.dumps(params, sort_keys=True)),) if params else (),
            map_grid=GRID,
            **dataclasses.asdict(EvaluationProtocol()),
        ).key  # what evaluate marks these rows with: a changed layer or parameter recomputes
        store = MapStore(out)
        ours = lambda row: row["backbone"] == loaded.name and row["method"] == method and row["settings"] == key  # noqa: E731
        done = {row["image"] for row in store.rows() if ours(row) and not row.get("error")}  # a failure is retried
        todo = [r for r in chosen if r.path not in done]
        computed, mapping = 0, time.perf_counter()
        if todo:
            result = evaluate(  # on Ray a loaded backbone is refused in words: its workers load one by name
                todo,
                [backbone],
                [method],
                ["energy"],
                engine=engine,
                device=device,
                weights=weights,
                layer=layer,
                params={method: params} if params else None,
                progress=progress,
                keep_maps=GRID,
                on_rows=store.add,
            )
            store.flush()
            computed = result.computed
        mapping = time.perf_counter() - mapping
        paths = {r.path for r in chosen}
        rows = [row for row in store.rows() if row["image"] in paths and ours(row)]
        errors = sorted({row["error"] for row in rows if row.get("error")})
        good = [row for row in rows if not row.get("error") and row.get("map") is not None]
        if wanted is None:  # unlabelled data and no class named: the class predicted most
            wanted = int(np.bincount([row["target"] for row in good]).argmax()) if good else 0
        good = [row for row in good if row["target"] == wanted]
        _enough(len(good), loaded, wanted, clusters, "with a map")
        maps = np.stack([np.asarray(row["map"], dtype=np.float64) for row in good])
        grouped = cluster(maps, clusters, seed)
        found_strategies, out_rows = _strategies(loaded, good, maps, grouped)
        figure = strategies_figure(found_strategies, out_rows, loaded.labels[wanted], method, loaded.name)
        outcome = Strategies(
            target=wanted,
            target_label=loaded.labels[wanted],
            strategies=found_strategies,
            rows=out_rows,
            figure=figure,
            eigenvalues=grouped.eigenvalues,
            seconds=time.perf_counter() - started,
            map_seconds=mapping,
            computed=computed,
            errors=errors,
        )
        if out is not None:
            outcome.save(out)
        return outcome


def _unpacked(data: Any, out: str | os.PathLike | None, stack: contextlib.ExitStack) -> Any:
    """A zip's records, unpacked under Evaluate's rules into `out/unpacked/` (a rerun finds the same paths and
    reads back its maps) or a folder removed when the call ends; any other data as it is."""
    if not isinstance(data, (str, Path)) or Path(data).suffix.lower() != ".zip" or not Path(data).is_file():
        return data
    if out is None:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cnnlens-strategies-")))
    else:
        root = Path(out) / "unpacked" / Path(data).stem
        shutil.rmtree(root, ignore_errors=True)  # what the zip holds now, not what an older one left
        root.mkdir(parents=True)
    extract_zip(data, root)
    return unpacked_records(root)


def _enough(count: int, backbone: Backbone, wanted: int | None, clusters: int | None, how: str) -> None:
    """A sentence when too few images of the class remain to form neighbourhoods."""
    needed = max(MIN_IMAGES, 3 * (clusters or 0))
    if count >= needed:
        return
    name = f"class '{backbone.labels[wanted]}'" if wanted is not None else "the class"
    raise DataError(
        f"Strategies need at least {needed} images of {name} ({how}) to group their maps; the data holds {count}. "
        "Add images of the class (or, for unlabelled images, images the model predicts as it)."
    )


def _strategies(
    backbone: Backbone, rows: list[dict[str, Any]], maps: np.ndarray, grouped: Clusters
) -> tuple[list[Strategy], list[dict[str, Any]]]:
    """Each strategy described and ranked, and one output row per image."""
    side = GRID
    shares = maps / np.maximum(maps.sum(axis=1, keepdims=True), 1e-12)
    unit = shares / np.maximum(np.linalg.norm(shares, axis=1, keepdims=True), 1e-12)
    total = len(rows)
    drafts = []
    for number in range(grouped.count):
        members = np.flatnonzero(grouped.labels == number)
        mean = shares[members].mean(axis=0).reshape(side, side)
        outside = [1.0 - row["energy"] for row in (rows[i] for i in members) if row.get("energy") is not None]
        score = scores(mean, float(np.mean(outside)) if outside else None)
        centre = unit[members].mean(axis=0)
        distance = np.linalg.norm(unit[members] - centre / max(np.linalg.norm(centre), 1e-12), axis=1)
        order = members[np.argsort(distance, kind="stable")]
        drafts.append((unusualness(len(members), total, score), number, members, order, distance, mean, score))
    drafts.sort(key=lambda draft: (-draft[0], draft[1]))
    maker = ViewMaker(backbone.data_config)
    found, rank_of, typicality = [], {}, np.zeros(total)
    for rank, (unusual, number, members, order, distance, mean, score) in enumerate(drafts, start=1):
        rank_of[number] = rank
        typicality[members] = -distance
        views = [maker.view(maker.picture(rows[i]["image"])[0])[1] for i in order[:MEAN_IMAGE_FROM]]
        mean_image = Image.fromarray(
            np.mean([np.asarray(v.convert("RGB"), np.float32) for v in views], axis=0).astype(np.uint8)
        )
        peak = mean / max(mean.max(), 1e-12)
        typical = [rows[i]["image"] for i in order[:TYPICAL]]
        overlays = []
        for i, view in zip(order[:TYPICAL], views):
            one = maps[i].reshape(side, side)
            overlays.append(render.overlay(view, one / max(one.max(), 1e-12)))
        found.append(
            Strategy(
                rank=rank,
                members=[rows[i]["image"] for i in members],
                mean_map=peak,
                scores=score,
                unusual=unusual,
                sentence=describe(rank, len(members), total, score),
                typical=typical,
                picture=render.overlay(mean_image, peak),
                overlays=overlays,
                total=total,
            )
        )
    out_rows = []
    for i, row in enumerate(rows):
        own = scores(shares[i].reshape(side, side), None if row.get("energy") is None else 1.0 - row["energy"])
        out_rows.append(
            {
                **{name: row.get(name) for name in ROW_COLUMNS},
                "strategy": rank_of[int(grouped.labels[i])],
                "typicality": float(typicality[i]),
                "x": float(grouped.layout[i, 0]),
                "y": float(grouped.layout[i, 1]),
                "border": own.border,
                "outside": own.outside,
                "centre_x": own.centre[0],
                "centre_y": own.centre[1],
            }
        )
    return found, out_rows


def _summary_row(strategy: Strategy) -> dict[str, Any]:
    score = strategy.scores
    return {
        "strategy": strategy.rank,
        "size": strategy.size,
        "share": strategy.size / max(1, strategy.total),
        "border": score.border,
        "outside": score.outside,
        "centre_x": score.centre[0],
        "centre_y": score.centre[1],
        "unusual": strategy.unusual,
        "sentence": strategy.sentence,
    }
