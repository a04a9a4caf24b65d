"""Checkpoints as people save them, read without unpickling, and fitted to a timm architecture.

A fine-tuned model arrives as a file of tensors: a bare state dict, or one wrapped by a training loop
(``{"state_dict": …}``, ``{"model": …}``), its keys prefixed by DataParallel (``module.``) or Lightning
(``model.``). Its head says how many classes it has and its stem how many input channels, so the model
is built to fit the file instead of the file being forced into ImageNet's shape. Class names come from
a labels file or a config next to the checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from registry.imaging import shorten

__all__ = [
    "WEIGHT_SUFFIXES",
    "CheckpointError",
    "fit_architecture",
    "read_labels",
    "read_state_dict",
    "sidecar_config",
]

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
_WRAPPERS = ("state_dict", "model", "model_state_dict", "module")  # what training loops put around the tensors
_PREFIXES = ("module.", "model.", "_orig_mod.")  # DataParallel / DDP, Lightning, torch.compile
LABEL_FILES = ("labels.txt", "labels.json", "classes.txt", "class_names.txt")


class CheckpointError(ValueError):
    """A checkpoint or labels file that cannot be used as it is; the message says what differs."""


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, unwrapped and with training prefixes removed.

    Never unpickles code: ``.safetensors`` is read by safetensors, anything else by
    ``torch.load(weights_only=True)``, which refuses objects other than tensors and plain containers.
    """
    path = Path(path)
    if path.suffix not in WEIGHT_SUFFIXES:
        raise CheckpointError(f"{path.name}: use a .safetensors, .pth, .pt or .bin file.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            loaded: Any = load_file(str(path), device="cpu")
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path.name} could not be read as a checkpoint: {_first_line(exc)}") from None
    return clean_state_dict(loaded, path.name)


def clean_state_dict(loaded: Any, name: str = "the checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap ``{"state_dict": …}`` and friends, keep the tensors, and drop a prefix every key shares."""
    while isinstance(loaded, Mapping) and not _tensors(loaded):
        inner = next((loaded[key] for key in _WRAPPERS if isinstance(loaded.get(key), Mapping)), None)
        if inner is None:
            keys = ", ".join(sorted(map(str, loaded))[:5]) or "nothing"
            raise CheckpointError(f"{name} holds no tensors (its keys: {keys}); save model.state_dict().")
        loaded = inner
    if not isinstance(loaded, Mapping):
        raise CheckpointError(f"{name} holds a {type(loaded).__name__}, not a state dict; save model.state_dict().")
    state = {str(key): value for key, value in loaded.items() if isinstance(value, torch.Tensor)}
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if state and all(key.startswith(prefix) for key in state):
                state = {key[len(prefix) :]: value for key, value in state.items()}
                changed = True
    return state


def fit_architecture(architecture: str, state: Mapping[str, torch.Tensor], name: str) -> nn.Module:
    """timm's `architecture` built with the head and stem the checkpoint has, its tensors loaded strictly.

    The number of classes is the classifier's output rows, the input channels the first convolution's
    input planes (both named by timm's pretrained config); any other difference is one sentence naming
    the first tensor that differs and both shapes.
    """
    num_classes, in_chans = _head_and_stem(architecture, state)
    try:
        model = timm.create_model(architecture, pretrained=False, num_classes=num_classes, in_chans=in_chans)
    except Exception as exc:
        raise CheckpointError(f"{architecture} cannot be built as the checkpoint needs: {_first_line(exc)}") from None
    expected = model.state_dict()
    shared = sum(key in state for key in expected)
    if shared < len(expected) / 2:
        raise CheckpointError(
            f"{name} is not a checkpoint of {architecture}: only {shared} of its {len(state)} tensor names are "
            f"{architecture}'s (it has {len(expected)}). Choose the architecture it was trained as."
        )
    for key, tensor in expected.items():
        if key in state and state[key].shape != tensor.shape:
            raise CheckpointError(
                f"{name} does not fit {architecture}: its {key} is {_shape(state[key])}, where {architecture} "
                f"has {_shape(tensor)}."
            )
    missing = [key for key in expected if key not in state and not _optional(key)]
    if missing:
        raise CheckpointError(
            f"{name} does not fit {architecture}: it lacks {missing[0]} ({_shape(expected[missing[0]])})"
            + (f" and {len(missing) - 1} more tensors" if len(missing) > 1 else "")
            + ". Is it a checkpoint of another architecture?"
        )
    unexpected = [key for key in state if key not in expected]
    if unexpected:
        raise CheckpointError(
            f"{name} does not fit {architecture}: it has {unexpected[0]} ({_shape(state[unexpected[0]])}), "
            f"which {architecture} has not"
            + (f", and {len(unexpected) - 1} more such tensors" if len(unexpected) > 1 else "")
            + ". Is it a checkpoint of another architecture?"
        )
    model.load_state_dict({key: state[key] for key in expected if key in state}, strict=False)
    return model


def read_labels(source: str | os.PathLike | Sequence[str] | Mapping[Any, str]) -> list[str]:
    """Class names from a list, an ``{index: name}`` map, or a file: one name per line (.txt), a JSON list or
    map, or a config.json with ``label_names`` (timm's `save_for_hf` writes that)."""
    if isinstance(source, os.PathLike) or _looks_like_path(source):
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"The labels file {path.name} does not exist.")
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CheckpointError(f"{path.name} is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
            except RecursionError:
                raise CheckpointError(f"{path.name} nests its JSON too deeply to be a labels file.") from None
            if isinstance(data, Mapping) and ("label_names" in data or "labels" in data):
                data = data.get("label_names") or data.get("labels")
            return read_labels(data)
        return [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(source, Mapping):
        try:
            numbered = {int(key): str(value) for key, value in source.items()}
        except (TypeError, ValueError):
            raise CheckpointError("A labels map must be {class index: name}.") from None
        if sorted(numbered) != list(range(len(numbered))):
            raise CheckpointError(f"A labels map must number its classes 0 to {len(numbered) - 1}, each once.")
        return [numbered[index] for index in range(len(numbered))]
    if isinstance(source, Sequence) and not isinstance(source, str):
        return [str(name) for name in source]
    raise CheckpointError(f"Class names come as a list, an {{index: name}} map or a file; got {shorten(source)}.")


def sidecar_config(weights: Path) -> dict[str, Any]:
    """The ``config.json`` next to a checkpoint (timm's `save_for_hf` layout), or an empty dict."""
    path = weights.parent / "config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"config.json next to {weights.name} is not valid JSON: {exc.msg}.") from None
    except RecursionError:
        raise CheckpointError(f"config.json next to {weights.name} nests its JSON too deeply to be a config.") from None
    return data if isinstance(data, dict) else {}


def sidecar_labels(weights: Path) -> Path | None:
    """A labels file next to the checkpoint: ``<stem>.labels.txt`` first, then the usual names."""
    for candidate in (weights.with_name(f"{weights.stem}.labels.txt"), *(weights.parent / n for n in LABEL_FILES)):
        if candidate.is_file():
            return candidate
    return None


def _head_and_stem(architecture: str, state: Mapping[str, torch.Tensor]) -> tuple[int, int]:
    cfg = timm.models.get_pretrained_cfg(architecture)
    default_classes, default_chans = 1000, 3
    if cfg is None:
        return default_classes, default_chans
    classifiers = cfg.classifier if isinstance(cfg.classifier, (list, tuple)) else [cfg.classifier]
    num_classes = default_classes
    head = next((state[f"{c}.weight"] for c in classifiers if c and f"{c}.weight" in state), None)
    if head is not None:
        num_classes = int(head.shape[0])
    elif classifiers and classifiers[0] and not any(k.startswith(f"{classifiers[0]}.") for k in state):
        num_classes = 0  # saved without a head: a feature extractor
    stem = state.get(f"{cfg.first_conv}.weight") if cfg.first_conv else None
    in_chans = int(stem.shape[1]) if stem is not None and stem.dim() == 4 else default_chans
    return num_classes, in_chans


def _optional(key: str) -> bool:
    """Buffers a checkpoint may leave out without changing what the model computes."""
    return key.endswith("num_batches_tracked")


def _tensors(mapping: Mapping) -> bool:
    return any(isinstance(value, torch.Tensor) for value in mapping.values())


def _looks_like_path(source: Any) -> bool:
    """A string naming a labels file (a one-line string ending in a labels suffix, or an existing file)."""
    if not isinstance(source, str) or "\n" in source or len(source) > 4096:
        return False
    return source.endswith((".txt", ".json")) or Path(source).is_file()


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) or "a scalar"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
