"""A set's layer activations (and a class's layer gradients), computed once in batches and kept on disk.

Every layer of a set comes from one forward pass per batch (one backward too for gradients), the images prepared by
`Backbone.prepare`, the one preprocessing path. Arrays are flattened as captum's TCAV flattens a layer's output
((N, C·H·W), the module's own output), float32, and cached as .npy files keyed by the model's weights digest, the
layer, the set's key and (for gradients) the class: a second test of the same sets reads files instead of running
the model. The cache folder (`concepts/` in the data folder) is bounded by $CNNLENS_CONCEPT_CACHE_MB.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

import registry.settings as settings
import registry.storage as storage
from registry.audit._sets import ImageSet
from registry.methods._shared_pass import gradients_of, record_forward
from registry.models import Backbone

__all__ = ["cache_folder", "set_arrays"]

_VERSION = 1  # raise when what is stored changes, so old arrays are not read as new ones


def cache_folder() -> Path:
    """Where the arrays are kept: `concepts` in the data folder."""
    return storage.data_folder() / "concepts"


def set_arrays(
    backbone: Backbone,
    images: ImageSet,
    layers: Sequence[str],
    target: int | None = None,
    *,
    batch_size: int = 16,
    cache: Path | None = None,
    step: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Per layer, the (N, D) activations of `images` or, with `target`, the gradients of that class's logit with
    respect to the layer's output. Layers found in `cache` are read; the others are computed together."""
    keys = {layer: _key(backbone, layer, images.key, target) for layer in layers}
    found = {layer: _read(cache / f"{keys[layer]}.npy") for layer in layers} if cache is not None else {}
    arrays = {layer: array for layer, array in found.items() if array is not None and len(array) == len(images)}
    missing = [layer for layer in layers if layer not in arrays]
    if cache is not None:
        for layer in arrays:
            storage.touch(cache / f"{keys[layer]}.npy")
    if not missing:
        if step is not None:
            step(len(images))
        return arrays
    parts: dict[str, list[np.ndarray]] = {layer: [] for layer in missing}
    for start in range(0, len(images), batch_size):
        chunk = images.items[start : start + batch_size]
        x = torch.cat([backbone.prepare(item)[0] for item in chunk])
        for layer, array in _pass(backbone, x, missing, target).items():
            parts[layer].append(array)
        if step is not None:
            step(len(chunk))
    for layer in missing:
        arrays[layer] = np.concatenate(parts[layer])
        if cache is not None:
            _write(cache / f"{keys[layer]}.npy", arrays[layer])
    if cache is not None:
        storage.bounded_cache(cache, settings.value("CNNLENS_CONCEPT_CACHE_MB")).sweep()
    return {layer: arrays[layer] for layer in layers}


def _pass(backbone: Backbone, x: torch.Tensor, layers: Sequence[str], target: int | None) -> dict[str, np.ndarray]:
    """One forward (and, for a class, one backward) of a batch: every layer's flattened output or gradient. In eval
    mode the images of a batch are independent, so d Σ logit[target] / d output is each image's own gradient."""
    with backbone.lock:
        if target is None:
            with torch.no_grad():
                _, outputs = record_forward(backbone, x, layers)
        else:
            logits, outputs = record_forward(backbone, x.detach().clone().requires_grad_(True), layers)
            outputs = gradients_of(logits[:, target].sum(), outputs)
    return {layer: outputs[layer].detach().float().reshape(len(x), -1).cpu().numpy() for layer in layers}


def _key(backbone: Backbone, layer: str, set_key: str, target: int | None) -> str:
    described = {
        "model": backbone.name,
        "weights": backbone.weights_digest(),
        "layer": layer,
        "set": set_key,
        "target": target,
        "version": _VERSION,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32]


def _read(path: Path) -> np.ndarray | None:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def _write(path: Path, array: np.ndarray) -> None:
    storage.write_atomically(path, lambda handle: np.save(handle, array, allow_pickle=False))
