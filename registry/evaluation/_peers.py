"""The peers' faithfulness scores of one map: average drop and increase in confidence (Grad-CAM++), ROAD and ARCC.

Each needs the model on images made from the map (the image times the map; the image with a share of its pixels
imputed), and ARCC's coherency needs the method's map of the image times the map. `score_map` makes those images
in a fixed order, hands them to the caller's batched pass (the engine's `faith_batch` stream, or `peer_metrics`'
own), and turns the confidences into the scores with the pure functions of `_metrics.py`. The noise of ROAD's
imputation comes from one generator per family (ROAD, ARCC's ROAD) seeded `ROAD_SEED` for every map, drawn least
relevant first then most relevant first, percentiles ascending: the order pytorch-grad-cam's ROADCombined draws in,
so its numbers are reproduced after `torch.manual_seed(ROAD_SEED)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from registry.evaluation._metrics import (
    ARCC_PERCENTILES,
    ROAD_PERCENTILES,
    arcc,
    average_drop,
    coherency,
    complexity,
    increase_in_confidence,
    noisy_linear_imputation,
    road_combined,
    road_kept,
    unit_map,
)
from registry.methods._discovery import get_plugin
from registry.methods._request import check_request
from registry.methods._runner import Job, check_applies, compute_jobs
from registry.models import Backbone

__all__ = ["PEER_COLUMNS", "PEER_METRICS", "ROAD_SEED", "peer_metrics", "score_map", "view_map"]

PEER_METRICS = ("average_drop", "increase_in_confidence", "road", "arcc")
# What each metric fills on a row (ROAD's and ARCC's parts beside their one number).
PEER_COLUMNS = {
    "average_drop": ("average_drop",),
    "increase_in_confidence": ("increase_in_confidence",),
    "road": ("road", "road_morf", "road_lerf"),
    "arcc": ("arcc", "complexity", "coherency"),
}
ROAD_SEED = 0
CONFIDENCE = ("average_drop", "increase_in_confidence")
PEER_BATCH = 16

Plan = list[tuple[str, str, int]]  # (family, order, percentile) of each image, in the order they are made


def view_map(raw: Any, size: tuple[int, int], signed: bool) -> np.ndarray:
    """A method's raw map as float32 at the model view's `size` (bilinear), NaN and ±inf as 0, negatives dropped
    for an unsigned method: the map every score reads."""
    tensor = torch.as_tensor(raw).detach().float().cpu().squeeze()
    if tensor.ndim != 2:
        raise RuntimeError(f"a heatmap must be 2-D, got shape {tuple(tensor.shape)}")
    if tuple(tensor.shape) != tuple(size):
        tensor = F.interpolate(tensor[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    tensor = torch.nan_to_num(tensor, nan=0.0, posinf=0.0, neginf=0.0)
    if not signed:
        tensor = tensor.clamp(min=0)
    return tensor.numpy().astype(np.float32)


def _plan(metrics: Sequence[str]) -> Plan:
    plan: Plan = [("confidence", "", 0)] if set(CONFIDENCE) & set(metrics) else []
    for family, percentiles in (("road", ROAD_PERCENTILES), ("arcc", ARCC_PERCENTILES)):
        if family in metrics:
            plan += [(family, order, p) for order in ("lerf", "morf") for p in percentiles]
    return plan


def _images(x: torch.Tensor, unit: np.ndarray, plan: Plan, seed: int) -> Iterator[torch.Tensor]:
    """The (C, H, W) images of `plan`, made one at a time as the pass asks for them."""
    generators: dict[str, torch.Generator] = {}
    for family, order, percentile in plan:
        if family == "confidence":
            yield x[0] * torch.as_tensor(unit, device=x.device)
            continue
        generator = generators.setdefault(family, torch.Generator().manual_seed(seed))
        yield noisy_linear_imputation(x[0], road_kept(unit, percentile, order == "morf"), generator=generator)


def score_map(
    x: torch.Tensor,
    full: float,
    heatmap: np.ndarray,
    metrics: Sequence[str],
    confidences: Callable[[Iterator[torch.Tensor], int], np.ndarray],
    redraw: Callable[[torch.Tensor], np.ndarray],
    seed: int = ROAD_SEED,
) -> dict[str, Any]:
    """The peer metrics among `metrics` of one map, as row columns (`PEER_COLUMNS`).

    `x` is the (1, C, H, W) input, `full` the class confidence on it, `heatmap` the map at its size;
    `confidences(images, count)` gives the class confidence of each image; `redraw(x times the map)` gives the
    method's map of that input (ARCC's coherency)."""
    wanted = [name for name in PEER_METRICS if name in metrics]
    if not wanted:
        return {}
    unit = unit_map(heatmap)
    plan = _plan(wanted)
    values = np.asarray(confidences(_images(x, unit, plan, seed), len(plan)), dtype=np.float32)
    change = values - np.float32(full)  # after − before, in float32 as the reference's
    parts: dict[tuple[str, str], list[float]] = {}
    for (family, order, _percentile), value in zip(plan, change):
        parts.setdefault((family, order), []).append(float(value))
    out: dict[str, Any] = {}
    if "average_drop" in wanted:
        out["average_drop"] = average_drop(full, full + parts[("confidence", "")][0])
    if "increase_in_confidence" in wanted:
        out["increase_in_confidence"] = increase_in_confidence(0.0, parts[("confidence", "")][0])  # the change > 0
    if "road" in wanted:
        morf, lerf = parts[("road", "morf")], parts[("road", "lerf")]
        out.update(
            road=road_combined(morf, lerf),
            road_morf=float(np.mean(np.float32(morf))),
            road_lerf=float(np.mean(np.float32(lerf))),
        )
    if "arcc" in wanted:
        again = unit_map(redraw(x * torch.as_tensor(unit, device=x.device)))
        out["complexity"] = complexity(unit)
        out["coherency"] = coherency(unit, again)
        road = road_combined(parts[("arcc", "morf")], parts[("arcc", "lerf")])
        out["arcc"] = arcc(out["coherency"], out["complexity"], road)
    return out


def peer_metrics(
    backbone: Backbone,
    image: Image.Image | np.ndarray | str,
    method: str,
    target: int | None = None,
    layer: str | None = None,
    metrics: Sequence[str] = PEER_METRICS,
    params: dict[str, Any] | None = None,
    seed: int = ROAD_SEED,
) -> dict[str, Any]:
    """The peers' faithfulness scores of `method`'s map of `image` on `backbone` (the class `target`, else the
    prediction): average drop and increase in confidence (Chattopadhyay et al. 2018), ROAD (Rong et al. 2022) and
    ARCC (Poppi et al. 2021, as pytorch-grad-cam combines it), with ROAD's and ARCC's parts. A dict of numbers, plus
    the `target` explained and its `probability`."""
    unknown = [name for name in metrics if name not in PEER_METRICS]
    if unknown:
        raise ValueError(f"No peer metric called {', '.join(map(repr, unknown))}; they are {', '.join(PEER_METRICS)}.")
    plugin = get_plugin(method)
    if plugin.output != "heatmap":
        raise ValueError(f"{plugin.title} shows pictures, not a heatmap, so it has no map to score.")
    check_applies(plugin, backbone)
    values = plugin.resolve_params(params or {})
    x, view = backbone.prepare(image)
    size = (view.height, view.width)
    probabilities = backbone.probabilities(x)
    chosen = int(np.argmax(probabilities)) if target is None else int(target)

    def draw(tensor: torch.Tensor) -> np.ndarray:
        job = Job(plugin, chosen, layer, dict(values))
        compute_jobs(backbone, tensor.detach(), view, [job])
        return view_map(job.raw, size, plugin.signed)

    def confidences(images: Iterator[torch.Tensor], count: int) -> np.ndarray:
        found: list[np.ndarray] = []
        batch: list[torch.Tensor] = []
        for done, picture in enumerate(chain(images, [None])):  # made one at a time, as the pass asks
            check_request("The peers' metrics", done, count)  # the request's budget and its visitor's Stop
            if picture is not None:
                batch.append(picture)
            if batch and (picture is None or len(batch) == PEER_BATCH):
                with backbone.lock, torch.inference_mode():
                    logits = backbone.model(torch.stack(batch))
                found.append(backbone.activate(logits)[:, chosen].cpu().numpy())
                batch = []
        return np.concatenate(found) if found else np.empty(0)

    full = float(probabilities[chosen])
    scores = score_map(x, full, draw(x), metrics, confidences, draw, seed)
    return {"method": plugin.name, "target": chosen, "probability": full, **scores}
