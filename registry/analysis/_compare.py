"""Compare: every combination of backbones, classes, layers and methods on one image, in one call.

    comparison = registry.compare("examples/cat.png", backbones=["tf_efficientnet_lite0", "tf_efficientnet_lite2"])
    comparison.figure.save("grid.png")

Per backbone the image is prepared once and one shared pass (a forward, then one backward per
class) serves every cell; a backbone that cannot load, or a method that cannot apply to it, fills
only its own cells with the reason, and every other cell still renders.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import timm
from PIL import Image

from registry.imaging import load_image, shorten, to_rgb
from registry.methods._discovery import get_plugin
from registry.methods._plugin import DEPTHS, Plugin, Progress, Visualization, map_scale, report
from registry.methods._runner import Job, compute_jobs, finish_job, sentence
from registry.models import (
    DEFAULT_BACKBONE,
    RANDOM,
    Backbone,
    WeightsUnavailableError,
    decode_side,
    load_backbone,
    parse_class_number,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "MAX_BACKBONES",
    "MAX_CELLS",
    "Cell",
    "Comparison",
    "Row",
    "check_compare_size",
    "compare",
]

log = logging.getLogger("cnnlens")

MAX_CELLS = 48
MAX_BACKBONES = 8
LONGEST_NAME = 1024  # characters of a name a request gives (a backbone, a method): a Hub id or a folder is shorter
DEFAULT_PLUGINS = ("feature_maps", "gradcam", "saliency")


@dataclass
class Cell:
    """One map of the grid: which combination it is, and its result or the reason it has none."""

    backbone: str
    plugin: str
    target: int | None  # as asked: None means the backbone's own top-1 prediction
    layer: str | None  # as asked: a module name, a depth word, or None for the method's default
    result: Visualization | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def key(self) -> str:
        """A stable name for the cell, e.g. "resnet18/gradcam/class=predicted/layer=final"."""
        target = "predicted" if self.target is None else str(self.target)
        return f"{self.backbone}/{self.plugin}/class={target}/layer={self.layer or 'default'}"


@dataclass
class Row:
    """One row of the figure: a backbone, a class and a layer, with what the model predicted."""

    backbone: str
    target: int | None
    layer: str | None
    prediction: tuple[int, str, float] | None = None  # the backbone's top-1: (index, label, probability)
    error: str | None = None


@dataclass
class Comparison:
    """The grid of results; `figure` is the labelled picture of it, `seconds` the whole call."""

    cells: list[Cell]
    rows: list[Row]
    plugins: list[Plugin]
    seconds: float = 0.0
    pass_seconds: dict[str, float] = field(default_factory=dict)  # per backbone: its shared forward/backward
    common_scale: bool = True  # maps of one method and layer share a colour scale across classes
    _figure: Image.Image | None = None

    @property
    def figure(self) -> Image.Image:
        """One labelled image of the whole grid (rows: backbone / class / layer; columns: methods)."""
        if self._figure is None:
            from registry.analysis._figures import comparison_figure  # matplotlib's Figure only when drawn

            self._figure = comparison_figure(self)
        return self._figure

    def cell(self, backbone: str, plugin: str, target: int | None = None, layer: str | None = None) -> Cell:
        """The cell for a combination (a plugin that ignores class or layer matches any of them)."""
        owner = next((p for p in self.plugins if p.name == plugin), None)
        if owner is not None:
            wanted = Cell(
                backbone, plugin, target if owner.needs_target else None, layer if owner.needs_layer else None
            ).key
            for cell in self.cells:
                if cell.key == wanted:
                    return cell
        raise KeyError(f"no cell for {backbone}/{plugin}/class={target}/layer={layer}")

    def maps(self) -> dict[str, np.ndarray]:
        """Every heatmap keyed by its cell's key (float32, model-view size), e.g. for np.savez."""
        return {
            cell.key: cell.result.heatmap
            for cell in self.cells
            if cell.result is not None and cell.result.heatmap is not None
        }


def compare(
    image: Any,
    backbones: Sequence[str | Backbone] | None = None,
    plugins: Sequence[str | Plugin] | None = None,
    targets: Sequence[int | None] | None = None,
    layers: Sequence[str | None] | None = None,
    allow_random: bool = False,
    progress: Progress | None = None,
    common_scale: bool = True,
    **params: Any,
) -> Comparison:
    """Every combination backbone × target × layer × plugin on one image.

    Backbones and plugins are given by name (or as loaded objects). A target is a class number or
    None (each backbone's own top-1); a layer is a module name, a depth word ("early", "middle",
    "final", resolved per backbone) or None (each method's default).
    `params` go to the plugins that declare them. With `common_scale`, the maps of one method at one
    layer of one backbone share one colour scale across the classes, so a class the model barely
    sees looks weak instead of as bright as the prediction. Bad axes raise ValueError; a backbone or
    method that fails fills its own cells with a sentence in `cell.error`.
    """
    started = time.perf_counter()
    backbones = _axis("backbone", backbones, [DEFAULT_BACKBONE])
    plugins = _axis("method", plugins, list(DEFAULT_PLUGINS))
    targets, layers = _axis("class", targets, [None]), _axis("layer", layers, [None])
    check_compare_size(len(backbones), plugins, len(targets), len(layers))
    chosen = [_plugin(name) for name in plugins]
    targets = [_target(value) for value in targets]
    layers = [_layer(value) for value in layers]
    settings = _plugin_params(chosen, params)
    comparison = Comparison(
        *_grid([_name(b) for b in backbones], targets, layers, chosen), chosen, common_scale=common_scale
    )
    rgb = _decode(image, backbones)  # once for every backbone
    done, total = 0, len(comparison.cells)
    for backbone in backbones:  # one at a time: only one model's pass is held in memory
        name = _name(backbone)
        mine = [cell for cell in comparison.cells if cell.backbone == name]
        try:
            loaded = backbone if isinstance(backbone, Backbone) else _load(name, allow_random)
        except (ValueError, RuntimeError, OSError) as exc:  # unknown name, no weights offline, a broken file
            reason = sentence(exc)
            for item in [*mine, *(row for row in comparison.rows if row.backbone == name)]:
                item.error = reason
            done += len(mine)
            report(progress, done, total, f"{name}: {reason}")
            continue
        _check_axes(loaded, targets, layers, chosen)  # a wrong class number is the request's fault, not a cell's
        done = _run_backbone(loaded, rgb, mine, comparison, settings, progress, done, total)
    comparison.seconds = time.perf_counter() - started
    return comparison


def check_compare_size(backbones: int, plugins: Sequence[str | Plugin], targets: int, layers: int) -> None:
    """Refuse a comparison over the limits from its axes' lengths alone, before a class is parsed, a model
    loaded or a cell made: a request naming 40,000 classes costs a count, not a grid."""
    if backbones > MAX_BACKBONES:
        raise ValueError(
            f"Compare at most {MAX_BACKBONES} backbones at once (each is loaded into memory); got {backbones}."
        )
    for what, count in (("methods", len(plugins)), ("classes", targets), ("layers", layers)):
        if count > MAX_CELLS:
            raise ValueError(f"Compare at most {MAX_CELLS} {what} at once; got {count}.")
    chosen = [_plugin(name) for name in plugins]
    cells = sum(
        backbones * (targets if plugin.needs_target else 1) * (layers if plugin.needs_layer else 1) for plugin in chosen
    )
    if cells > MAX_CELLS:
        raise ValueError(
            f"This comparison asks for {cells} maps; the limit is {MAX_CELLS} per request. "
            "Choose fewer backbones, classes, layers or methods."
        )


def _decode(image: Any, backbones: list[str | Backbone]) -> Image.Image:
    """The image as RGB; a file decoded reduced, but no smaller than the largest backbone needs."""
    if not isinstance(image, (str, Path)):
        return to_rgb(image)
    sides = []
    for backbone in backbones:
        if isinstance(backbone, Backbone):
            sides.append(backbone.decode_side)
            continue
        try:  # from timm's configuration: no model is loaded for this
            sides.append(decode_side(timm.models.get_pretrained_cfg(_name(backbone)).to_dict()))
        except Exception:  # an unknown name fails later, in its own cells
            continue
    return load_image(image, max(sides, default=2 * 512))


def _grid(backbones: list[str], targets: list, layers: list, plugins: list[Plugin]) -> tuple[list[Cell], list[Row]]:
    """The cells (a method that ignores the class or the layer gets one cell, not one per row) and the rows."""
    cells: dict[str, Cell] = {}
    for backbone, target, layer, plugin in product(backbones, targets, layers, plugins):
        cell = Cell(
            backbone, plugin.name, target if plugin.needs_target else None, layer if plugin.needs_layer else None
        )
        cells.setdefault(cell.key, cell)
    row_targets = targets if any(plugin.needs_target for plugin in plugins) else [None]
    row_layers = layers if any(plugin.needs_layer for plugin in plugins) else [None]
    return list(cells.values()), [Row(*combination) for combination in product(backbones, row_targets, row_layers)]


def _run_backbone(
    backbone: Backbone,
    rgb: Image.Image,
    cells: list[Cell],
    comparison: Comparison,
    settings: dict[str, dict[str, Any]],
    progress: Progress | None,
    done: int,
    total: int,
) -> int:
    """Every cell of one backbone from one shared pass; returns the updated progress count."""
    plugins = {plugin.name: plugin for plugin in comparison.plugins}
    started = time.perf_counter()
    x, view = backbone.prepare(rgb)
    preparing = time.perf_counter() - started
    jobs = [Job(plugins[cell.plugin], cell.target, cell.layer, settings[cell.plugin]) for cell in cells]

    def counted(job: Job) -> None:
        nonlocal done
        done += 1
        report(progress, done, total, f"{backbone.name} · {job.plugin.title}")

    run = compute_jobs(backbone, x, view, jobs, isolate=True, predict=True, done=counted)
    comparison.pass_seconds[backbone.name] = preparing + run.seconds
    for row in comparison.rows:
        if row.backbone == backbone.name:
            row.prediction = run.prediction
    computed = [(cell, job) for cell, job in zip(cells, jobs) if job.error is None]
    scales = _shared_scales([job for _cell, job in computed]) if comparison.common_scale else {}
    for cell, job in computed:  # rendering needs no model: outside the lock
        began = time.perf_counter()
        try:
            cell.result = finish_job(job, run, job.seconds, scales.get((cell.plugin, job.ctx.layer)))
        except Exception as exc:
            log.exception("%s could not be rendered on %s", job.plugin.name, backbone.name)
            cell.error = f"{job.plugin.title} failed on {backbone.name}: {sentence(exc)}"
            continue
        cell.seconds = cell.result.seconds = job.seconds + time.perf_counter() - began
    for cell, job in zip(cells, jobs):
        if job.error is not None:
            cell.error = job.error
    unresolved = [job for job in jobs if job.ctx is None]  # refused on this backbone, or a layer it lacks
    if unresolved:
        done += len(unresolved)
        report(progress, done, total, f"{backbone.name}: {unresolved[0].error}")
    return done


def _shared_scales(jobs: list[Job]) -> dict[tuple[str, str | None], float]:
    """(method, layer) → the largest of its maps' own scales across the classes of one backbone."""
    scales: dict[tuple[str, str | None], float] = {}
    for job in jobs:
        plugin, ctx = job.plugin, job.ctx
        if plugin.output == "heatmap":
            own = map_scale(job.raw, ctx.view_size, plugin.signed, plugin.scale_percentile)
            scales[(plugin.name, ctx.layer)] = max(own, scales.get((plugin.name, ctx.layer), 0.0))
    return {key: value for key, value in scales.items() if value > 0}


def _axis(what: str, values: Sequence | None, default: list) -> list:
    """None → the default; otherwise a non-empty list without repeats."""
    if values is None:
        return default
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"Give the {what}s as a list, e.g. [{default[0]!r}]; got {shorten(values)}.")
    values = list(values)
    if not values:
        raise ValueError(f"Choose at least one {what}.")
    keys = Counter(_name(v) if what == "backbone" else getattr(v, "name", v) for v in values)  # linear, not n²
    repeated = sorted(str(key) for key, count in keys.items() if count > 1)
    if repeated:
        more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
        named = ", ".join(shorten(key, quoted=False) for key in repeated[:5]) + more
        raise ValueError(f"Each {what} may be asked for once; repeated: {named}.")
    return values


def _plugin(name: str | Plugin) -> Plugin:
    if isinstance(name, Plugin):
        name.validate()
        return name
    return get_plugin(name)


def _target(value: Any) -> int | None:
    """None (the prediction) or a class number; the range is checked per backbone."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"A class is a class number (0, 1, …) or None for the prediction; got {shorten(value)}.")
    return int(value)


def _layer(value: Any) -> str | None:
    if value is None or value in DEPTHS:
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"A layer is a module name, one of {', '.join(DEPTHS)}, or None; got {shorten(value)}.")
    return value.strip()


def _plugin_params(plugins: list[Plugin], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each plugin gets the parameters it declares; a name no chosen plugin declares is an error."""
    declared = {p.name for plugin in plugins for p in plugin.all_params}
    unknown = sorted(set(params) - declared)
    if unknown:
        raise ValueError(f"No chosen method has a parameter {', '.join(unknown)}.")
    return {
        plugin.name: plugin.resolve_params(
            {k: v for k, v in params.items() if k in {p.name for p in plugin.all_params}}
        )
        for plugin in plugins
    }


def _check_axes(backbone: Backbone, targets: list[int | None], layers: list[str | None], plugins: list[Plugin]) -> None:
    """What is wrong with the request itself (not with one cell) is a ValueError for the caller."""
    for target in targets:
        if target is not None and any(plugin.needs_target for plugin in plugins):
            parse_class_number(target, backbone.num_classes)
    if (
        any(layer in DEPTHS for layer in layers)
        and any(p.needs_layer for p in plugins)
        and backbone.default_layer is None
    ):
        raise ValueError(f"{backbone.name} has no stages with a spatial map, so early / middle / final name no layer.")


def _load(name: str, allow_random: bool) -> Backbone:
    try:
        return load_backbone(name)
    except WeightsUnavailableError:
        if not allow_random:
            raise
    return load_backbone(name, weights=RANDOM)


def _name(backbone: str | Backbone) -> str:
    if isinstance(backbone, Backbone):
        return backbone.name
    if not isinstance(backbone, str):
        raise ValueError(f"A backbone is a timm model name; got {shorten(backbone)}.")
    if len(backbone.strip()) > LONGEST_NAME:  # refused whole: a cell would carry the name into every output
        raise ValueError(f"{shorten(backbone.strip())} is longer than any backbone's name ({LONGEST_NAME} characters).")
    return backbone.strip()
