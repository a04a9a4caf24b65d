"""The batched computation: a batch of units in, one row per unit × method × target out.

For one backbone, `Evaluator.rows(items)` runs the whole batch through the model once (`BatchPass`), picks each
image's target (its labelled class the model ranks highest, else its prediction; a grid's cells' classes), runs
one backward per target slot for the whole batch, and lets every method that reads the shared pass (the CAM
family, saliency, …) compute each image's map from its slice. Methods that run the model themselves
(Integrated Gradients, Occlusion, …) go through the one run pipeline (`compute_jobs`) image by image. The maps
are scored and dropped at once: only rows leave, so memory stays flat however large the dataset.

Both engines (local and Ray) call this same code on the same batches, so they give the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import chain
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from registry.analysis._faithfulness import masked, random_grid, random_map, ranking, substrate
from registry.evaluation._batch import BatchPass
from registry.evaluation._data import Record, resolve_labels
from registry.evaluation._geometry import ViewMaker
from registry.evaluation._metrics import auc, energy_in, grid_share, peak, pointing_hit, top_k_hit
from registry.evaluation._options import EvaluationProtocol
from registry.evaluation._peers import PEER_COLUMNS, PEER_METRICS, score_map, view_map
from registry.evaluation._results import COLUMNS
from registry.evaluation._units import GRID, IMAGE, Item, Unit
from registry.methods._discovery import get_plugin
from registry.methods._plugin import Plugin, normalize
from registry.methods._request import RequestStopped, check_request, in_lane
from registry.methods._runner import Job, check_applies, compute_jobs, sentence
from registry.methods._shared_pass import ACTIVATIONS, ATTENTION, GRADIENTS, INPUT_GRADIENT
from registry.models import Backbone

__all__ = [
    "DEFAULT_METRICS",
    "MAP_METRICS",
    "METRICS",
    "Evaluator",
    "Settings",
    "build_grids",
]

METRICS = ("top1", "top5", "pointing_game", "energy", "deletion", "insertion", "grid_pointing_game", *PEER_METRICS)
DEFAULT_METHODS = ("gradcam",)  # what evaluate, its command and its tab score when no method is named
DEFAULT_METRICS = ("top1", "top5", "pointing_game", "energy")
MAP_METRICS = ("pointing_game", "energy", "deletion", "insertion", *PEER_METRICS)  # scored on each image's map


@dataclass(frozen=True)
class Settings(EvaluationProtocol):
    """Everything that changes a row's numbers (the protocol, the metrics, the layer, the methods' parameters): a
    finished row is reused only under equal settings (`key`)."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    layer: str | None = None
    params: tuple[tuple[str, str], ...] = ()  # (method, JSON of its parameters)
    faith_batch: int = 32
    map_grid: int | None = None  # keep each map on its row, averaged to map_grid × map_grid (the audit reads them)

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [name for name in self.metrics if name not in METRICS]
        if unknown:
            raise ValueError(f"No metric called {', '.join(map(repr, unknown))}; the metrics are {', '.join(METRICS)}.")

    @property
    def key(self) -> str:
        """The settings as one string: part of every row's identity, so a changed setting recomputes."""
        data = asdict(self)
        data.pop("faith_batch")
        if data["map_grid"] is None:  # rows written before the field existed keep their key
            data.pop("map_grid")
        data["metrics"] = sorted(data["metrics"])
        return json.dumps(data, sort_keys=True)

    def params_of(self, method: str) -> dict[str, Any]:
        return json.loads(dict(self.params).get(method, "{}"))

    @property
    def map_metrics(self) -> list[str]:
        return [name for name in MAP_METRICS if name in self.metrics]


@dataclass
class _Method:
    plugin: Plugin
    layer: str | None
    module: Any
    values: dict[str, Any]
    batched: bool  # it reads the shared pass, so it computes from the batch's slice


@dataclass
class _Map:
    """A computed map waiting for its deletion / insertion curves or its peer metrics (the batch's last step)."""

    row: dict[str, Any]
    index: int
    target: int
    heatmap: np.ndarray
    method: _Method | None = None  # for the peer metrics: what redraws the map (ARCC's coherency) ...
    item: Item | None = None  # ... on which image


class Evaluator:
    """One backbone, its methods and settings, ready to turn batches of items into rows."""

    def __init__(self, backbone: Backbone, methods: Sequence[str], settings: Settings, labels: Sequence[str | None]):
        self.backbone, self.settings = backbone, settings
        if not backbone.num_classes:
            raise ValueError(
                f"{backbone.name} has no classifier head (a feature extractor): there are no classes to evaluate."
            )
        self.key = settings.key  # one string shared by every row
        self.maker = ViewMaker(backbone.data_config)
        self.labels = resolve_labels(labels, backbone)
        self.methods: list[_Method] = []
        for name in methods:
            plugin = get_plugin(name)
            if plugin.output != "heatmap":
                raise ValueError(f"{plugin.title} shows pictures, not a heatmap, so it has no map to score.")
            check_applies(plugin, backbone)
            layer, module = plugin.resolve_layer(backbone, settings.layer)
            values = plugin.resolve_params(settings.params_of(name))
            # a method that reads the attention maps (LeGrad) runs image by image: the batch's pass keeps none
            batched = bool(plugin.reads) and ATTENTION not in plugin.reads
            self.methods.append(_Method(plugin, layer, module, values, batched))
        self.grid = random_grid(backbone)
        # on_map(row, item, shown map, class probabilities) for every map of an image, as it is computed: set, every
        # image gets its maps even with no map metric (registry.explain_video draws them); the maps are not kept.
        self.on_map: Callable[[dict[str, Any], Item, np.ndarray, np.ndarray], None] | None = None
        self.what = "Evaluate"  # the work a stopped request names

    # -- the rows of one batch --------------------------------------------------------------------------------

    def rows(self, items: list[Item]) -> list[dict[str, Any]]:
        """Rows for a batch of decoded items: one per item × method × target (errors as rows, with a sentence)."""
        rows = [self._error_row(item) for item in items if item.error is not None]
        good = [item for item in items if item.error is None]
        if not good:
            return rows
        backbone = in_lane(self.backbone)  # an Evaluate run in the app is heavy: it leaves cheap work its model
        batched = [method for method in self.methods if method.batched]
        reads = {read for method in batched for read in method.plugin.reads}
        layers = sorted({m.layer for m in batched if {ACTIVATIONS, GRADIENTS} & set(m.plugin.reads) and m.layer})
        wants_maps = self._wants_maps(good)
        x = torch.stack([item.x for item in good]).to(backbone.device)
        with backbone.lock:  # hooks live on modules: one computation per model at a time
            batch = BatchPass(
                backbone,
                x,
                layers if wants_maps else (),
                gradients=wants_maps and GRADIENTS in reads,
                input_gradient=wants_maps and INPUT_GRADIENT in reads,
            )
            probabilities = batch.probabilities.numpy().astype(np.float64)
            targets = [self._targets(item, probabilities[i]) for i, item in enumerate(good)]
            if wants_maps and batch.x.requires_grad:
                for slot in range(max(len(t) for t in targets)):
                    batch.backward([t[slot][0] if slot < len(t) else None for t in targets])
            pending: list[_Map] = []
            peers: list[_Map] = []
            for i, item in enumerate(good):
                for target, cell in targets[i]:
                    base = self._base_row(item, probabilities[i], target, cell)
                    if not self._maps_for(item):
                        rows.append(base)
                        continue
                    for method in self.methods:
                        if method.plugin.name in item.unit.skip:
                            continue
                        _check_keeping(
                            rows, pending, self.what
                        )  # the request's budget and its visitor's Stop, map by map
                        row = dict(base, method=method.plugin.name)
                        try:
                            heatmap, shown = self._map(method, batch, i, item, target)
                        except Exception as exc:  # one method failing on one image must not sink the run
                            row["error"] = f"{method.plugin.title} failed on {item.unit.key}: {sentence(exc)}"
                            rows.append(row)
                            continue
                        self._score(row, item, heatmap, cell)
                        if self.on_map is not None:
                            self.on_map(row, item, shown, probabilities[i])
                        if {"deletion", "insertion"} & set(self.settings.metrics):
                            pending.append(_Map(row, i, target, shown))
                        if cell is None and set(PEER_METRICS) & set(self.settings.metrics):
                            peers.append(_Map(row, i, target, heatmap, method, item))
                        rows.append(row)
            del batch
            if pending or peers:
                self._faithfulness_by_image(x, rows, pending, peers)
        return rows

    def _wants_maps(self, items: list[Item]) -> bool:
        return bool(self.methods) and any(self._maps_for(item) for item in items)

    def _maps_for(self, item: Item) -> bool:
        if not self.methods:
            return False
        if self.on_map is not None and item.unit.kind == IMAGE:
            return True
        if item.unit.kind == GRID:
            return "grid_pointing_game" in self.settings.metrics or bool(
                {"deletion", "insertion"} & set(self.settings.metrics)
            )
        return bool(self.settings.map_metrics)

    def _targets(self, item: Item, probabilities: np.ndarray) -> list[tuple[int, int | None]]:
        """(class, grid cell) pairs to explain: a grid's cells' classes, an image's best-ranked label, or its
        prediction when it has no label."""
        if item.unit.kind == GRID:
            return [(int(c), cell) for cell, c in enumerate(item.unit.classes)]
        classes = self.labels.get(item.unit.record.label) if item.unit.record.label is not None else None
        if classes:
            return [(max(classes, key=lambda c: (probabilities[c], -c)), None)]
        return [(int(np.argmax(probabilities)), None)]

    def _base_row(self, item: Item, probabilities: np.ndarray, target: int, cell: int | None) -> dict[str, Any]:
        unit, labels = item.unit, self.backbone.labels
        predicted = int(np.argmax(probabilities))
        classes = self.labels.get(unit.record.label) if unit.kind == IMAGE and unit.record.label is not None else None
        metrics = self.settings.metrics
        return {
            "image": unit.key,
            "kind": unit.kind,
            "backbone": self.backbone.name,
            "method": "",
            "target": int(target),
            "target_label": labels[target],
            "cell": cell,
            "label": unit.record.label,
            "predicted": predicted,
            "predicted_label": labels[predicted],
            "probability": float(probabilities[target]),
            "top1": top_k_hit(probabilities, classes, 1) if classes and "top1" in metrics else None,
            "top5": top_k_hit(probabilities, classes, 5) if classes and "top5" in metrics else None,
            "pointing_game": None,
            "energy": None,
            "deletion_auc": None,
            "insertion_auc": None,
            "random_deletion_auc": None,
            "random_insertion_auc": None,
            "grid_pointing_game": None,
            **dict.fromkeys(column for columns in PEER_COLUMNS.values() for column in columns),
            "map_zero": None,
            "untrained": bool(self.backbone.untrained),
            "settings": self.key,
            "error": None,
        }

    def _error_row(self, item: Item) -> dict[str, Any]:
        row = dict.fromkeys(COLUMNS)
        row.update(
            image=item.unit.key,
            kind=item.unit.kind,
            backbone=self.backbone.name,
            method="",
            label=item.unit.record.label,
            untrained=bool(self.backbone.untrained),
            settings=self.key,
            error=item.error,
        )
        return row

    def _map(self, method: _Method, batch: BatchPass, index: int, item: Item, target: int):
        """(raw map, the map as the heatmap shows it) at the model view's size, as float32 arrays."""
        plugin, backbone = method.plugin, self.backbone
        if method.batched:
            share = batch.image(index)
            ctx = plugin.context(
                backbone, share.x, item.view, target, method.layer, method.module, method.values, share
            )
            raw = plugin.compute_synchronized(ctx)
        else:
            job = Job(plugin, target, self.settings.layer, dict(method.values))
            compute_jobs(backbone, batch.x[index : index + 1].detach(), item.view, [job])
            raw = job.raw
        size = (item.view.height, item.view.width)
        heatmap = view_map(raw, size, plugin.signed)
        return heatmap, normalize(torch.from_numpy(heatmap), size, plugin.signed, plugin.scale_percentile)

    def _score(self, row: dict[str, Any], item: Item, heatmap: np.ndarray, cell: int | None) -> None:
        """The map's localisation scores (the curves come after, for the whole batch at once)."""
        metrics = self.settings.metrics
        row["map_zero"] = not bool(np.any(heatmap > 0))
        if self.settings.map_grid:
            side = int(self.settings.map_grid)
            pooled = F.adaptive_avg_pool2d(torch.from_numpy(heatmap).clamp(min=0)[None, None], (side, side))
            row["map"] = pooled.flatten().tolist()
        if cell is not None:
            if "grid_pointing_game" in metrics:
                row["grid_pointing_game"] = _number(grid_share(heatmap, cell))
            return
        record, geometry = item.unit.record, item.geometry
        if record.box is None and item.mask is None:
            return
        if "pointing_game" in metrics:
            r, c = peak(heatmap)
            x, y = geometry.to_image(c + 0.5, r + 0.5)
            row["pointing_game"] = pointing_hit(
                (int(np.floor(x)), int(np.floor(y))), box=record.box, mask=item.mask, tolerance=self.settings.tolerance
            )
        if "energy" in metrics:
            region = geometry.view_mask(item.mask) if item.mask is not None else geometry.box_mask(record.box)
            row["energy"] = _number(energy_in(heatmap, region))

    # -- deletion and insertion, batched over every map of the batch ------------------------------------------------

    def _faithfulness_by_image(
        self, x: torch.Tensor, rows: list[dict[str, Any]], pending: list[_Map], peers: Sequence[_Map] = ()
    ) -> None:
        """The curves and the peer metrics one image at a time (each image's maps and random maps still share full
        batches), so a request stopped midway keeps the rows of the images it finished: they travel on the
        RequestStopped as `rows`, and the engine stores them before it stops."""
        finished: set[int] = set()
        try:
            for index in dict.fromkeys(item.index for item in [*pending, *peers]):
                curves = [item for item in pending if item.index == index]
                if curves:
                    self._faithfulness(x, curves)
                for item in peers:
                    if item.index == index:
                        self._peer_metrics(x, item)
                finished.add(index)
        except RequestStopped as stop:
            waiting = [item for item in [*pending, *peers] if item.index not in finished]
            stop.rows = _without_curves_due(rows, waiting)
            raise

    def _peer_metrics(self, x: torch.Tensor, item: _Map) -> None:
        """Average drop, increase in confidence, ROAD and ARCC of one map (`registry.evaluation._peers`), its images
        through the model in `faith_batch`es; a failure is the row's error, in a sentence."""
        method, unit = item.method, item.item
        assert method is not None and unit is not None
        one = x[item.index : item.index + 1]
        size = (unit.view.height, unit.view.width)

        def redraw(tensor: torch.Tensor) -> np.ndarray:
            job = Job(method.plugin, item.target, self.settings.layer, dict(method.values))
            compute_jobs(self.backbone, tensor.detach(), unit.view, [job])
            return view_map(job.raw, size, method.plugin.signed)

        def confidences(images: Iterator[torch.Tensor], count: int) -> np.ndarray:
            return self._probabilities(images, count, "Evaluate's peer metrics")[:, item.target]

        full = float(item.row["probability"])
        try:
            item.row.update(score_map(one, full, item.heatmap, self.settings.metrics, confidences, redraw))
        except RequestStopped:
            raise
        except Exception as exc:  # one map failing must not sink the run
            item.row["error"] = f"The peer metrics of {method.plugin.title} failed on {unit.unit.key}: {sentence(exc)}"

    def _faithfulness(self, x: torch.Tensor, pending: list[_Map]) -> None:
        """Deletion and insertion curves (RISE; `registry.faithfulness`'s protocol, without the inverse map) of
        every map of the batch, and the random maps' curves once per image and class, all through the model in
        one stream of full batches."""
        settings, backbone = self.settings, self.backbone
        height, width = x.shape[-2:]
        steps = int(settings.steps)
        counts = np.rint(np.linspace(0, height * width, steps + 1)).astype(np.int64)
        fractions = counts / (height * width)
        pairs = list(dict.fromkeys((m.index, m.target) for m in pending))
        canvases = {}
        for index in dict.fromkeys(i for i, _ in pairs):
            one = x[index : index + 1]
            canvases[index] = {
                "deletion": substrate(backbone, one, settings.deletion_baseline),
                "insertion": substrate(backbone, one, settings.baseline),
            }
        orders: list[tuple[Any, int, int, np.ndarray]] = []  # (owner, index, target, order)
        shuffled = [ranking(random_map(self.grid, (height, width), seed)) for seed in range(int(settings.seeds))]
        for index, target in pairs:
            orders += [((index, target, seed), index, target, order) for seed, order in enumerate(shuffled)]
        for number, item in enumerate(pending):
            orders.append((number, item.index, item.target, ranking(item.heatmap)))
        streams = [  # the ends every curve of an image shares: the image itself, and each canvas
            iter([x[index], canvases[index]["deletion"][0], canvases[index]["insertion"][0]]) for index in canvases
        ]
        for _owner, index, _target, order in orders:
            for mode in ("deletion", "insertion"):
                streams.append(masked(x[index : index + 1], canvases[index][mode], order, counts[1:-1], mode))
        logits = self._probabilities(chain(*streams), 3 * len(canvases) + 2 * len(orders) * (steps - 1))
        position = 0
        ends: dict[int, np.ndarray] = {}
        for index in canvases:
            ends[index] = logits[position : position + 3]
            position += 3
        curves: dict[Any, dict[str, np.ndarray]] = {}
        for owner, index, target, _order in orders:
            for mode in ("deletion", "insertion"):
                middle = logits[position : position + steps - 1, target]
                position += steps - 1
                full, deleted, inserted = ends[index][:, target]
                first, last = (full, deleted) if mode == "deletion" else (inserted, full)
                curves.setdefault(owner, {})[mode] = np.concatenate([[first], middle, [last]])
        for number, item in enumerate(pending):
            seeds = [curves[(item.index, item.target, seed)] for seed in range(int(settings.seeds))]
            for mode in ("deletion", "insertion"):
                if mode in settings.metrics:
                    item.row[f"{mode}_auc"] = auc(curves[number][mode], fractions)
                    item.row[f"random_{mode}_auc"] = float(np.mean([auc(s[mode], fractions) for s in seeds]))

    def _probabilities(
        self, images: Iterator[torch.Tensor], total: int, what: str = "Evaluate's deletion and insertion curves"
    ) -> np.ndarray:
        """Class probabilities (total, classes) of a stream of images, `faith_batch` at a time."""
        values, batch = [], []
        size = max(1, int(self.settings.faith_batch))
        for image in images:
            batch.append(image)
            if len(batch) == size:
                check_request(what, len(values), -(-total // size))
                values.append(self._run(batch))
                batch = []
        if batch:
            values.append(self._run(batch))
        out = np.concatenate(values) if values else np.empty((0, self.backbone.num_classes))
        assert len(out) == total
        return out

    def _run(self, batch: list[torch.Tensor]) -> np.ndarray:
        with torch.inference_mode():
            logits = self.backbone.model(torch.stack(batch))
        return self.backbone.activate(logits).cpu().numpy().astype(np.float64)


def _check_keeping(rows: list[dict[str, Any]], pending: list[_Map], what: str = "Evaluate") -> None:
    """`check_request(what)`; a stop carries the rows finished so far (`rows` less those waiting in `pending`
    for their curves), which the engine stores before it stops."""
    try:
        check_request(what)
    except RequestStopped as stop:
        stop.rows = _without_curves_due(rows, pending)
        raise


def _without_curves_due(rows: list[dict[str, Any]], waiting: list[_Map]) -> list[dict[str, Any]]:
    """The rows that are finished: all but those still waiting for their deletion / insertion curves."""
    unfinished = {id(item.row) for item in waiting}
    return [row for row in rows if id(row) not in unfinished]


def _number(value: float) -> float | None:
    return None if value != value else float(value)  # NaN (no positive mass) is missing, not a score


def build_grids(candidates: Sequence[tuple[str, int, float]], count: int | None = None, seed: int = 0) -> list[Unit]:
    """2×2 grids of images of four different classes, each used once (Böhle et al. 2021; Rao et al. 2022).

    `candidates` are (path, class, confidence) of images the backbone classifies correctly and confidently;
    a seeded shuffle, then each grid takes one image from each of the four classes with the most images left,
    until fewer than four classes remain or `count` grids are made. The same seed gives the same grids.
    """
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[str]] = {}
    for path, cls, _confidence in sorted(candidates):
        by_class.setdefault(int(cls), []).append(path)
    for paths in by_class.values():
        rng.shuffle(paths)
    grids: list[Unit] = []
    while count is None or len(grids) < count:
        left = sorted((c for c in by_class if by_class[c]), key=lambda c: (-len(by_class[c]), c))
        if len(left) < 4:
            break
        order = [left[i] for i in rng.permutation(4)]
        paths = tuple(by_class[c].pop() for c in order)
        grids.append(Unit(GRID, Record("grid:" + "|".join(paths)), paths, tuple(order)))
    return grids
