"""Models of one's own in the served app: uploads private to the session that made them, and the server's
own model folders, which only the operator may name.

An upload is a `.safetensors` checkpoint with, optionally, a `config.json` (timm's `save_for_hf` layout)
and a labels file. It is never unpickled (`.pth` and friends are refused, with the reason), its size is
capped ($CNNLENS_MAX_MODEL_UPLOAD_MB) and its header checked before anything loads it. It is kept in a
folder of its own under a random token; the backbone list of the session that uploaded it is the only
place that token appears, and the folder goes when that session ends, or after $CNNLENS_MODEL_UPLOADS_TTL
unused (a script over plain HTTP has no session that ends), or when the uploads pass $CNNLENS_MODEL_UPLOADS_MB.
Loaded, it is a backbone like any other, and the model cache evicts it like any other.

A client may not name a folder or a weights file on the server (`local-dir:/…`): that would let anyone
probe the server's files. Only folders the operator lists ($CNNLENS_MODEL_DIRS, or the local-dir names in
$CNNLENS_BACKBONE / $CNNLENS_BACKBONES) may be named, and every other such name gets one sentence that
says nothing about the path.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

import registry
from registry import settings, storage
from registry.imaging import shorten

PREFIX = "upload:"
REFUSED_PATH = (
    "The app loads models from the server only from folders its operator lists (CNNLENS_MODEL_DIRS); upload your "
    "model's files instead (a .safetensors checkpoint, with a config.json or a labels file)"
)


def refused_path() -> str:
    """The refusal of a server folder, offering a Hub id only when this server can reach the Hub."""
    hub = ", or name a Hugging Face Hub model" if registry.models.hub_reachable() else ""
    return f"{REFUSED_PATH}{hub}."


GONE = (
    "This uploaded model is no longer on the server (uploads last as long as the page that made them, and go after "
    "a while unused); upload it again."
)
PICKLED = (
    "{name}: .pth, .pt, .bin and .ckpt files are pickles, and loading a pickle can run code, so uploads of them "
    "are refused. Save the weights as safetensors instead: "
    "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')."
)
LABEL_SUFFIXES = (".txt", ".json")
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".pkl", ".pickle")


class OwnModelError(ValueError):
    """An upload or a model name the app will not load; the message is for the person who sent it."""


@dataclass
class OwnModel:
    """One uploaded model: where its files lie, what it is, and whose it is."""

    token: str
    architecture: str
    weights: Path
    labels: Path | None
    session: str
    label: str  # what the backbone list shows
    nbytes: int


@dataclass
class _Store:
    models: dict[str, OwnModel] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STORE = _Store()


def max_upload_bytes() -> int:
    """$CNNLENS_MAX_MODEL_UPLOAD_MB (default 400 MB: a ConvNeXt-Base in float32 fits)."""
    return int(settings.value("CNNLENS_MAX_MODEL_UPLOAD_MB") * 2**20)


def is_upload(name: object) -> bool:
    return isinstance(name, str) and name.strip().startswith(PREFIX)


def add_upload(paths: list[str], architecture: str | None, session: str) -> OwnModel:
    """Check the uploaded files, keep them under a new token for `session`, and say what they are.

    Raises OwnModelError with a sentence for the person: a pickle, too large, not safetensors, no
    architecture, two checkpoints, or a config that is not JSON.
    """
    files = [Path(path) for path in paths or []]
    if not files:
        raise OwnModelError(
            "Choose your model's files first: a .safetensors checkpoint, and a config.json or labels file."
        )
    pickled = [file for file in files if file.suffix.lower() in PICKLE_SUFFIXES]
    if pickled:
        raise OwnModelError(PICKLED.format(name=pickled[0].name))
    checkpoints = [file for file in files if file.suffix.lower() == ".safetensors"]
    if len(checkpoints) != 1:
        raise OwnModelError(
            "Upload exactly one .safetensors checkpoint (with, if you have them, its config.json and a labels file); "
            f"got {len(checkpoints)}."
        )
    others = [file for file in files if file not in checkpoints]
    strange = [file for file in others if file.suffix.lower() not in LABEL_SUFFIXES]
    if strange:
        raise OwnModelError(
            f"{strange[0].name}: besides the checkpoint, upload only a config.json or a labels file (.txt or .json)."
        )
    weights = checkpoints[0]
    total = sum(file.stat().st_size for file in files)
    if total > max_upload_bytes():
        raise OwnModelError(
            f"The upload is {total / 2**20:.0f} MB; this server takes models up to {max_upload_bytes() / 2**20:.0f} MB "
            "(CNNLENS_MAX_MODEL_UPLOAD_MB)."
        )
    _safetensors_header(weights)  # the header is checked before anything loads the file
    config_file = next((file for file in others if file.name == "config.json"), None)
    labels_file = next((file for file in others if file is not config_file), None)
    config = _json(config_file) if config_file else {}
    chosen = config.get("architecture") or architecture or ""
    if not isinstance(chosen, str):
        raise OwnModelError(
            f"The architecture in config.json must be one timm model name such as resnet18; got {shorten(chosen)}."
        )
    chosen = chosen.strip()
    if not chosen:
        raise OwnModelError(
            "Say which timm architecture the checkpoint is (e.g. resnet18), or upload the config.json timm's "
            "save_for_hf wrote beside it."
        )
    if chosen.startswith(("hf-hub:", "local-dir:")):
        raise OwnModelError("The architecture is a timm model name such as resnet18, not a Hub id or a folder.")
    try:
        chosen = registry.validate_name(chosen)
    except registry.UnknownBackboneError as exc:
        raise OwnModelError(str(exc)) from None

    token = secrets.token_urlsafe(16)
    folder = _root() / token
    folder.mkdir(parents=True)
    kept = folder / _safe_name(weights.name, ".safetensors")
    shutil.copyfile(weights, kept)
    if config_file:
        (folder / "config.json").write_text(json.dumps(config))
    labels = None
    if labels_file:
        labels = folder / f"labels{labels_file.suffix.lower()}"
        shutil.copyfile(labels_file, labels)
    label = f"{weights.name} ({chosen})"  # what a person recognises: their file, and the architecture they named
    model = OwnModel(token, chosen, kept, labels, session, label, total)
    with _STORE.lock:
        _STORE.models[token] = model
    expire()  # within the size bound at once, however fast uploads arrive
    return model


def load(name: str, device=None) -> registry.Backbone:
    """The backbone of an uploaded model named by its token (`upload:<token>`)."""
    token = name.strip().removeprefix(PREFIX)
    with _STORE.lock:
        model = _STORE.models.get(token)
    if model is None or not model.weights.is_file():
        raise OwnModelError(GONE)
    storage.touch(model.weights)  # used now: its lifetime starts again
    try:
        return registry.load_backbone(model.architecture, device=device, weights=model.weights, labels=model.labels)
    except registry.WeightsUnavailableError as exc:
        raise OwnModelError(str(exc)) from None


def choices_for(session: str) -> list[tuple[str, str]]:
    """(label, value) entries of the models `session` uploaded, oldest first: only its own."""
    with _STORE.lock:
        return [(f"Your model: {m.label}", PREFIX + m.token) for m in _STORE.models.values() if m.session == session]


def forget(token: str) -> None:
    """Delete one upload (one that did not load, say)."""
    with _STORE.lock:
        _STORE.models.pop(token, None)
    shutil.rmtree(_root() / token, ignore_errors=True)


def forget_session(session: str) -> int:
    """Delete the uploads of a session that ended; returns how many went."""
    with _STORE.lock:
        gone = [token for token, model in _STORE.models.items() if model.session == session]
        for token in gone:
            shutil.rmtree(_root() / token, ignore_errors=True)
            del _STORE.models[token]
    return len(gone)


def check_named(name: str) -> None:
    """Refuse a client's name for a folder on the server unless the operator listed that folder."""
    cleaned = (name or "").strip()
    if not cleaned.startswith("local-dir:"):
        return
    where = cleaned.removeprefix("local-dir:").strip()
    try:
        real = os.path.realpath(where) if where else ""
    except (OSError, ValueError):
        raise OwnModelError(refused_path()) from None
    if not real or real not in allowed_folders():
        raise OwnModelError(refused_path())


def allowed_folders() -> set[str]:
    """The model folders the operator lists: $CNNLENS_MODEL_DIRS (os.pathsep between them) and the local-dir
    names in $CNNLENS_BACKBONE and $CNNLENS_BACKBONES, symlinks resolved."""
    listed = list(settings.value("CNNLENS_MODEL_DIRS"))
    for name in [settings.value("CNNLENS_BACKBONE") or "", *configured_backbones()]:
        if name.startswith("local-dir:"):
            listed.append(name.removeprefix("local-dir:"))
    return {os.path.realpath(part.strip()) for part in listed}


def configured_backbones() -> list[str]:
    """$CNNLENS_BACKBONES: the dropdown's list, comma-separated (a Space that serves its own models sets it)."""
    return settings.value("CNNLENS_BACKBONES")


def _safetensors_header(path: Path) -> int:
    """How many tensors a safetensors file declares, read from its header alone (nothing is loaded)."""
    name = path.name
    try:
        with open(path, "rb") as file:
            size_bytes = file.read(8)
            (size,) = struct.unpack("<Q", size_bytes)
            if not 2 <= size <= 100 * 2**20 or size > path.stat().st_size - 8:
                raise ValueError
            header = json.loads(file.read(size))
    except (OSError, ValueError, struct.error, UnicodeDecodeError):
        raise OwnModelError(f"{name} is not a safetensors file (its header cannot be read).") from None
    if not isinstance(header, dict):
        raise OwnModelError(f"{name} is not a safetensors file (its header cannot be read).")
    tensors = [key for key in header if key != "__metadata__"]
    if not tensors:
        raise OwnModelError(f"{name} holds no tensors.")
    return len(tensors)


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise OwnModelError(f"{path.name} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise OwnModelError(f"{path.name} should hold a JSON object (timm's config.json does).")
    return data


def _safe_name(name: str, suffix: str) -> str:
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).stem).strip("._") or "model"
    return stem[:80] + suffix


def uploads_folder() -> storage.Bounded:
    """The uploads' folder under its bounds: $CNNLENS_MODEL_UPLOADS_TTL after last use, $CNNLENS_MODEL_UPLOADS_MB."""
    return storage.Bounded(
        _root(),
        max_bytes=settings.value("CNNLENS_MODEL_UPLOADS_MB") * 2**20,
        lifetime=settings.value("CNNLENS_MODEL_UPLOADS_TTL"),
    )


def expire() -> int:
    """Remove uploads past their lifetime or beyond the size bound, and forget them; returns how many went.
    A client without a page (a script over plain HTTP) never closes a session: this is what ends its uploads."""
    gone = {path.name for path in uploads_folder().sweep()}
    with _STORE.lock:
        for token in [token for token in _STORE.models if token in gone]:
            del _STORE.models[token]
    return len(gone)


def _root() -> Path:
    root = storage.data_folder() / "own-models"
    root.mkdir(parents=True, exist_ok=True)
    return root
