"""The model randomization check (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

    check = registry.sanity_check(backbone, image, "gradcam")
    check.steps    # [(what was randomized, rank correlation, ssim, map image), ...]
    check.figure

A map that explains the model must change when the model's weights are destroyed. The weights are
re-initialised cumulatively from the top down (the classifier, the head, then the stages from the
last to the first, as Quantus's MPRT does), the map is recomputed after each step, and compared with
the original by Spearman rank correlation and SSIM. A map that stays alike explains the image
(edges, contrast), not what the model learnt.

All of this happens on a deep copy of the model: the cached backbone is never modified, and a
request on it runs unaffected while the check is computed (its lock is held only to copy it).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from registry.analysis._similarity import rank_correlation, ssim
from registry.imaging import render, to_rgb
from registry.methods._discovery import get_plugin
from registry.methods._plugin import Plugin, Progress, report
from registry.methods._request import RequestStopped, current_request
from registry.models import Backbone, global_seed

__all__ = ["ORIGINAL", "SanityCheck", "SanityStep", "cascade", "randomize", "sanity_check"]

ORIGINAL = "original"


class SanityStep(NamedTuple):
    """The map after one more part of the model was re-initialised, and how alike it is to the original."""

    randomized: str
    rank_correlation: float  # Spearman's rho with the original map; NaN when the map went flat
    ssim: float
    image: Image.Image


@dataclass
class SanityCheck:
    """Cascading randomization of one method on one image: a step per re-initialised part."""

    plugin: str
    backbone: str
    target: int | None
    label: str | None
    layer: str | None
    steps: list[SanityStep]
    heatmaps: list[np.ndarray]
    seconds: float = 0.0
    stopped: str | None = None  # why the cascade ended early (the request's budget, or its visitor gone)
    _figure: Image.Image | None = field(default=None, repr=False)

    @property
    def figure(self) -> Image.Image:
        """The maps as a strip, left (original) to right (every weight random), with their scores."""
        if self._figure is None:
            from registry.analysis._figures import sanity_strip

            self._figure = sanity_strip(self)
        return self._figure

    def as_dict(self) -> dict[str, Any]:
        """The numbers as plain data (NaN, a flat map, becomes None)."""
        return {
            "plugin": self.plugin,
            "backbone": self.backbone,
            "target": self.target,
            "label": self.label,
            "layer": self.layer,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "steps": [
                {
                    "randomized": step.randomized,
                    "rank_correlation": None if np.isnan(step.rank_correlation) else round(step.rank_correlation, 4),
                    "ssim": round(step.ssim, 4),
                }
                for step in self.steps
            ],
        }


def sanity_check(
    backbone: Backbone,
    image: Any,
    plugin: Plugin | str,
    target: int | None = None,
    layer: str | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    parts: int | None = None,
    **params: Any,
) -> SanityCheck:
    """Re-initialise `backbone`'s weights top-down on a copy and follow `plugin`'s map of `image`.

    `target` and `layer` are fixed from the original map (the predicted class when None), so every
    step explains the same class at the same layer; `params` go to the plugin. `seed` fixes the
    random weights; `parts` stops after that many parts (None: down to the first stage). A request stopped
    midway (its budget, or its visitor gone) keeps the steps finished before and says why in `stopped`.
    """
    started = time.perf_counter()
    plugin = plugin if isinstance(plugin, Plugin) else get_plugin(plugin)
    if plugin.output != "heatmap":
        raise ValueError(f"{plugin.title} shows images, not a heatmap; the randomization check compares heatmaps.")
    available = len(cascade(backbone.model))  # reads names only: checked before any copying
    if parts is not None and (isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= available):
        raise ValueError(
            f"parts must be a whole number from 1 to {available} ({backbone.name} has {available} parts); got "
            f"{parts!r}."
        )
    picture = to_rgb(image)
    with backbone.lock:  # never copy a model while another request has hooks on it
        model = copy.deepcopy(backbone.model)
    twin = backbone.twin(model)
    groups = cascade(model)[:parts]
    total = len(groups) + 1
    original = plugin.run(twin, picture, target=target, layer=layer, **params)
    chosen_layer = original.layer.name if original.layer is not None else None
    report(progress, 1, total, f"{plugin.title}: the original map")
    steps = [SanityStep(ORIGINAL, 1.0, 1.0, _picture(original))]
    heatmaps = [original.heatmap]
    stopped = None
    for index, (name, modules) in enumerate(groups):
        randomize(modules, seed + index, backbone.device)
        try:
            result = plugin.run(twin, picture, target=original.target, layer=chosen_layer, **params)
        except RequestStopped:
            reason = current_request().stop_reason() or "it was stopped"
            stopped = f"stopped after {index} of {len(groups)} randomized parts: {reason}"
            break
        steps.append(
            SanityStep(
                name,
                rank_correlation(original.heatmap, result.heatmap),
                ssim(original.heatmap, result.heatmap),
                _picture(result),
            )
        )
        heatmaps.append(result.heatmap)
        report(progress, index + 2, total, f"{plugin.title}: {name} randomized")
    return SanityCheck(
        plugin.name,
        backbone.name,
        original.target,
        original.label,
        chosen_layer,
        steps,
        heatmaps,
        time.perf_counter() - started,
        stopped,
    )


def cascade(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The model's parts in the order they are randomized: classifier, head, then stages last to first.

    Stages come from timm's `feature_info`: a stage is everything from the end of the previous stage
    module to the end of its own (so the stem belongs to the first). Parameters after the last
    stage, except the classifier's, are the head. Each part lists the modules owning its parameters.
    """
    owners = dict(model.named_modules())
    order = [name.rpartition(".")[0] for name, _ in model.named_parameters()]  # owner of each parameter, in order
    classifier = model.get_classifier() if hasattr(model, "get_classifier") else None
    classifier_names = {name for name, module in owners.items() if classifier is not None and module is classifier}
    stage_names = [info["module"] for info in getattr(model, "feature_info", []) or [] if info.get("module") in owners]
    if not stage_names:  # not a timm CNN with stages: its top-level children stand in for them
        stage_names = [name for name, child in model.named_children() if any(True for _ in child.parameters())]
    ends = [max((i for i, owner in enumerate(order) if _inside(owner, stage)), default=-1) for stage in stage_names]

    def part(i: int, owner: str) -> str:
        if any(_inside(owner, name) for name in classifier_names):
            return "classifier"
        for number, end in enumerate(ends):
            if i <= end:
                return stage_names[number]
        return "head"

    grouped: dict[str, list[str]] = {}
    for i, owner in enumerate(order):
        grouped.setdefault(part(i, owner), [])
        if owner not in grouped[part(i, owner)]:
            grouped[part(i, owner)].append(owner)
    parts = []
    for key in ["classifier", "head", *reversed(stage_names)]:
        if key in grouped:
            label = _label(key, grouped[key], stage_names, model)
            parts.append((label, [owners[owner] for owner in grouped[key]]))
    return parts


def randomize(modules: list[nn.Module], seed: int, device: torch.device) -> None:
    """Re-initialise each module as a fresh one would be (its `reset_parameters`, as Quantus does)."""
    with global_seed(seed, device), torch.no_grad():  # alone: a noise map beside it would shift its weights
        for module in modules:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
            else:  # e.g. a bare layer-scale parameter: small random values, like timm's initialisers
                for parameter in module.parameters(recurse=False):
                    parameter.normal_(0.0, 0.02)


def _inside(owner: str, name: str) -> bool:
    return owner == name or owner.startswith(name + ".")


def _label(key: str, owners: list[str], stages: list[str], model: nn.Module) -> str:
    tops = list(dict.fromkeys(owner.split(".")[0] for owner in owners))
    if key == "classifier":
        return "classifier"
    if key == "head":
        return f"head ({', '.join(tops)})"
    number = stages.index(key) + 1
    return f"stage {number} ({key})" + (" + stem" if number == 1 and len(tops) > 1 else "")


def _picture(result) -> Image.Image:
    return render.colorize(result.heatmap, "bwr" if result.signed else "jet")
