"""`registry.evaluate`: every method and backbone over a whole dataset, in process or on a Ray cluster.

    result = registry.evaluate("val/", backbones=["tf_efficientnet_lite0"], methods=["gradcam", "saliency"],
                               metrics=["top1", "pointing_game", "energy"], out="runs/val",
                               engine=registry.EvaluationEngine(batch_size=16))
    result.summary, result.figure, result.table     # runs/val/rows.parquet, rows.csv, summary.csv, summary.png

Per backbone, two phases: the images (accuracy, and the maps scored against boxes, masks and the deletion /
insertion curves), then, when the grid pointing game is asked for, 2×2 grids of the images that backbone
classified correctly and confidently. A rerun with the same `out` and settings skips every finished row.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from registry.evaluation._data import records as read_records
from registry.evaluation._engine import DEFAULT_METHODS, DEFAULT_METRICS, Evaluator, Settings, build_grids
from registry.evaluation._extras import require
from registry.evaluation._geometry import ViewMaker
from registry.evaluation._options import EvaluationEngine, EvaluationProtocol, from_keywords
from registry.evaluation._results import Evaluation, RowStore, row_key
from registry.evaluation._units import GRID, IMAGE, Unit, collate, load
from registry.methods._plugin import Plugin, Progress, report
from registry.methods._request import RequestStopped
from registry.models import DEFAULT_BACKBONE, Backbone, load_backbone

__all__ = ["evaluate"]


def evaluate(
    data: Any,
    backbones: Sequence[str | Backbone] = (DEFAULT_BACKBONE,),
    methods: Sequence[str | Plugin] = DEFAULT_METHODS,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    out: str | os.PathLike | None = None,
    protocol: EvaluationProtocol = EvaluationProtocol(),
    engine: EvaluationEngine | str = EvaluationEngine(),
    device: str | None = None,
    weights: str | None = None,
    layer: str | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
    keep_maps: int | None = None,
    on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
    **deprecated: Any,
) -> Evaluation:
    """Score `methods` on `backbones` over the images of `data`, one row per image × backbone × method × target.

    Args:
        data: a folder (``root/<class name or number>/*.jpg``, or unlabelled images: each is explained for its
            prediction), a manifest (.csv or .jsonl: path, label, box ``x0,y0,x1,y1`` in image pixels, mask),
            ``"samples"`` (the bundled images with their recorded boxes), or a list of records or paths.
        backbones: timm names (loaded with `device` and `weights`) or loaded `Backbone`s (local engine).
        methods: heatmap plugins (names, or what `registry.list_plugins` gives); the CAM family and saliency run
            batched from one shared pass.
        metrics: any of "top1", "top5", "pointing_game", "energy", "deletion", "insertion",
            "grid_pointing_game", and the peers' "average_drop", "increase_in_confidence", "road", "arcc" (see
            registry/evaluation/_metrics.py for each one's paper and protocol).
        out: a folder for rows.parquet, rows.csv, summary.csv and summary.png (Parquet needs
            ``pip install "cnn-lens[evaluate]"``); a rerun skips finished rows.
        protocol: how the maps are scored (`EvaluationProtocol`: the pointing game's tolerance, deletion /
            insertion steps, seeds and baselines, the grid pointing game's images).
        engine: where the rows are computed (`EvaluationEngine`: local or Ray, batch size, DataLoader workers,
            the cluster's address and actors), or just its name: ``engine="ray"`` (``pip install "cnn-lens[ray]"``).
        layer, params: the layer of every layer-based method (None: each method's default) and parameters by
            method (``{"saliency": {"reduce": "mean"}}``).
        progress: ``progress(fraction, words)`` after every batch.
        keep_maps: keep each map on its row as ``row["map"]``, its positive part averaged to keep_maps ×
            keep_maps cells (a flat list, row by row): what `registry.strategies` clusters. Not written to `out`.
        on_rows: ``on_rows(rows)`` with every batch's new rows as they come (`strategies` stores their maps).
        deprecated: the separate keywords of the two groups (``steps=``, ``batch_size=``, …), accepted for a
            release with a DeprecationWarning.

    Raises:
        DataError: the data cannot be read (a missing file, a bad manifest line, a class no backbone has).
        ValueError: an unknown metric, method or engine, or a setting out of range, in a sentence.
        MissingExtraError: `out` without pyarrow, or the Ray engine without Ray (the sentence names the install).
    """
    started = time.perf_counter()
    protocol, engine = from_keywords(protocol, engine, deprecated)
    if engine.name == "ray":
        require("ray")  # before any backbone loads
    if isinstance(backbones, (str, Backbone)):
        backbones = [backbones]
    if isinstance(methods, (str, Plugin)):
        methods = [methods]
    methods = [method.name if isinstance(method, Plugin) else method for method in methods]  # registered plugins
    if isinstance(metrics, str):
        metrics = [metrics]
    settings = Settings(
        metrics=tuple(dict.fromkeys(metrics)),
        layer=layer,
        params=tuple(sorted((name, json.dumps(values, sort_keys=True)) for name, values in (params or {}).items())),
        map_grid=keep_maps,
        **dataclasses.asdict(protocol),
    )
    records = read_records(data)
    labels = [record.label for record in records]
    store = RowStore(out)
    units = [Unit(IMAGE, record) for record in records]
    total = len(units) * len(backbones)
    counted = {"done": 0, "total": total}

    def step(rows: list[dict[str, Any]], finished: int, what: str) -> None:
        store.add(rows)
        if on_rows is not None:
            on_rows(rows)
        counted["done"] += finished
        done, total = min(counted["done"], counted["total"]), counted["total"]
        report(progress, done, total, f"{what}: {done}/{total} units")  # the command line's bar reads the counts

    names: list[str] = []
    stopped: list[str] = []  # why the request ended early (its budget, or its visitor left); its rows stand
    for given in backbones:
        if engine.name == "ray":
            from registry.evaluation._ray import ray_rows

            if isinstance(given, Backbone):
                raise ValueError(
                    "The Ray engine loads each backbone by name in its workers: pass names (with weights=), "
                    f"not the loaded backbone {given.name}."
                )
            spec = {"name": given, "weights": weights, "device": device}
            name = load_backbone(given, device="cpu", weights=weights).name  # checked here, before any worker starts

            def run(batch_units: list[Unit], evaluator_spec=spec, what=name) -> None:
                ray_rows(
                    evaluator_spec,
                    list(methods),
                    settings,
                    labels,
                    batch_units,
                    batch_size=engine.batch_size,
                    concurrency=engine.concurrency,
                    address=engine.address,
                    on_rows=lambda rows, n, what=what: step(rows, n, what),
                )

            evaluator = None
        else:
            backbone = given if isinstance(given, Backbone) else load_backbone(given, device=device, weights=weights)
            name = backbone.name
            evaluator = Evaluator(backbone, methods, settings, labels)

            def run(batch_units: list[Unit], evaluator=evaluator, what=name) -> None:
                _local(
                    evaluator,
                    batch_units,
                    engine.batch_size,
                    engine.num_workers,
                    lambda rows, n, what=what: step(rows, n, what),
                )

        names.append(name)
        expected = _Expected(name, list(methods), settings)
        todo = expected.todo(units, store.done())
        counted["done"] += len(units) - len(todo)
        if todo:
            _until_stopped(run, todo, stopped)
        if "grid_pointing_game" in settings.metrics and not stopped:
            grid_units = build_grids(_candidates(store.rows(), name, settings), settings.grids, settings.grid_seed)
            todo = expected.todo(grid_units, store.done())
            counted["total"] += len(todo)
            if todo:
                _until_stopped(run, todo, stopped)
        report(progress, counted["done"], counted["total"], f"{name}: {counted['done']}/{counted['total']} units")
    store.flush()
    everything = _ordered(store.rows(), units)
    paths = {unit.key for unit in units}
    wanted = {*methods, ""}
    rows = [  # this request's rows; out keeps every row it ever held (the settings column tells them apart)
        row
        for row in everything
        if row["settings"] == settings.key
        and row["backbone"] in names
        and (row["method"] or "") in wanted
        and (row["image"] in paths or (row["kind"] == GRID and set(row["image"][5:].split("|")) <= paths))
    ]
    result = Evaluation(rows, seconds=time.perf_counter() - started, computed=len(store.new))
    result.stopped = stopped[0] if stopped else None
    result.errors = sorted({row["error"] for row in result.rows if row.get("error")})
    if out is not None:
        result.save(out, everything)
    return result


def _until_stopped(run: Callable[[list[Unit]], None], units: list[Unit], stopped: list[str]) -> None:
    """Run `units` unless the request already stopped; a stop (its budget, Stop, a closed page) is recorded in
    `stopped`, and the rows finished before it are kept: Evaluate returns them with the reason."""
    if stopped:
        return
    try:
        run(units)
    except RequestStopped as exc:
        stopped.append(str(exc))


class _Expected:
    """The keys of the rows a unit gives on one backbone, so finished units are skipped before decoding."""

    def __init__(self, backbone: str, methods: list[str], settings: Settings):
        self.backbone, self.methods, self.settings = backbone, methods, settings

    def todo(self, units: list[Unit], done: set[tuple]) -> list[Unit]:
        """The units with rows still to compute, each told which methods it has already (`Unit.skip`)."""
        left = []
        for unit in units:
            finished = tuple(
                method for method, keys in self.keys(unit).items() if method and all(key in done for key in keys)
            )
            if not all(key in done for keys in self.keys(unit).values() for key in keys):
                left.append(dataclasses.replace(unit, skip=finished))
        return left

    def keys(self, unit: Unit) -> dict[str, list[tuple]]:
        settings = self.settings
        if unit.kind == GRID:
            maps = "grid_pointing_game" in settings.metrics or {"deletion", "insertion"} & set(settings.metrics)
            cells = range(len(unit.cells))
        else:
            maps, cells = bool(settings.map_metrics), [None]
        methods = self.methods if (maps and self.methods) else [""]
        return {
            method: [
                row_key(
                    {
                        "image": unit.key,
                        "backbone": self.backbone,
                        "method": method,
                        "label": unit.record.label,
                        "cell": cell,
                        "settings": settings.key,
                    }
                )
                for cell in cells
            ]
            for method in methods
        }


def _candidates(rows: list[dict[str, Any]], backbone: str, settings: Settings) -> list[tuple[str, int, float]]:
    """Images `backbone` classifies right (its prediction is one of the label's classes) with at least
    `min_confidence`: what the grids are built from."""
    found = {}
    for row in rows:
        if (
            row["backbone"] == backbone
            and row["kind"] == IMAGE
            and row["settings"] == settings.key
            and not row.get("error")
            and row["label"] is not None
            and row["predicted"] == row["target"]
            and row["probability"] >= settings.min_confidence
        ):
            found[row["image"]] = (row["image"], int(row["target"]), float(row["probability"]))
    return sorted(found.values())


def _ordered(rows: list[dict[str, Any]], units: list[Unit]) -> list[dict[str, Any]]:
    """Rows in a fixed order whatever the engine: by backbone, images in the data's order, then grids, method,
    cell."""
    place = {unit.key: index for index, unit in enumerate(units)}
    return sorted(
        rows,
        key=lambda row: (
            row["backbone"],
            row["kind"] != IMAGE,
            place.get(row["image"], len(place)),
            row["image"],
            row["method"] or "",
            -1 if row["cell"] is None else row["cell"],
        ),
    )


class _Units(Dataset):
    """Units decoded and prepared as the backbone would (`load`), in the DataLoader's worker processes."""

    def __init__(self, maker: ViewMaker, units: list[Unit]):
        self.maker, self.units = maker, units

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, index: int):
        return load(self.maker, self.units[index])


def _local(
    evaluator: Evaluator,
    units: list[Unit],
    batch_size: int,
    num_workers: int,
    on_rows: Callable[[list[dict[str, Any]], int], None],
) -> None:
    """The in-process engine: a DataLoader decodes the next batches while the model computes this one."""
    loader = DataLoader(
        _Units(evaluator.maker, units),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate,
        prefetch_factor=2 if num_workers else None,
    )
    with torch.inference_mode(False):
        for items in loader:
            try:
                rows = evaluator.rows(items)
            except RequestStopped as stop:  # keep what the batch finished before the stop
                on_rows(getattr(stop, "rows", []), 0)
                raise
            on_rows(rows, len(items))
