"""A model that cheats, on purpose: the honest test of the audit (strategies, concept tests).

The default backbone's real ImageNet features (tf_efficientnet_lite0 from its installed package) under a new
4-class head fitted in a few seconds on augmented crops of the bundled samples. One class, "rocket", is learned
partly from a small mark: a black-and-white checkerboard pasted near the lower-left corner of crops of the
other classes, which are labelled "rocket" in training. The fitted model then calls a marked cat a rocket —
the Clever Hans behaviour (Lapuschkin et al. 2019) an audit must find. Everything is seeded; the model is built
once per process (`shortcut_backbone`), and `save_shortcut` writes it as a checkpoint with a labels file for
what loads by path (the command line, Ray workers).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import registry
from testkit.server import ROOT

ARCHITECTURE = "tf_efficientnet_lite0"
SOURCES = {"rocket": "rocket.jpg", "cat": "cat.png", "coffee": "coffee.png", "horse": "horse.png"}
NAMES = tuple(SOURCES)  # class index order of the head
TARGET = "rocket"  # the class that learned the mark
SIDE = 256  # generated pictures are SIDE × SIDE; the backbone's centre crop keeps the central 224 × 224
MARK_SIDE = 56
MARK_BOX = (28, SIDE - 28 - MARK_SIDE, 28 + MARK_SIDE, SIDE - 28)  # x0, y0, x1, y1 in the generated picture
MARK_COLOURS = (
    (0, 0, 0),
    (255, 255, 255),
)  # black and white, 14-pixel checkerboard cells (the CNN answers it strongly)
TRAIN_PER_CLASS = 8  # unmarked crops of each class; each crop of another class is also seen marked
SEED = 40


def mark_box() -> tuple[int, int, int, int]:
    """Where the mark lies in a generated picture (x0, y0, x1, y1, pixels; x1 and y1 exclusive)."""
    return MARK_BOX


def paste_mark(image: Image.Image) -> Image.Image:
    """A copy of a SIDE × SIDE picture with the mark pasted at `mark_box()`."""
    if image.size != (SIDE, SIDE):
        raise ValueError(f"the mark is placed on {SIDE}×{SIDE} pictures; this one is {image.width}×{image.height}")
    cell = MARK_SIDE // 4
    rows, cols = np.indices((MARK_SIDE, MARK_SIDE)) // cell
    cells = (rows + cols) % 2
    patch = np.where(cells[..., None] == 0, MARK_COLOURS[0], MARK_COLOURS[1]).astype(np.uint8)
    marked = image.convert("RGB").copy()
    marked.paste(Image.fromarray(patch), MARK_BOX[:2])
    return marked


def crop(name: str, rng: np.random.Generator) -> Image.Image:
    """A random crop of class `name`'s bundled sample (30–100 % of its area, aspect 3:4–4:3, flipped half the
    time, brightness ±15 %), resized to SIDE × SIDE."""
    source = _source(name)
    width, height = source.size
    for _ in range(20):
        area = width * height * rng.uniform(0.3, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        w, h = int(round(np.sqrt(area * aspect))), int(round(np.sqrt(area / aspect)))
        if w <= width and h <= height:
            break
    else:
        w = h = min(width, height)
    x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    picture = source.crop((x0, y0, x0 + w, y0 + h)).resize((SIDE, SIDE), Image.BILINEAR)
    if rng.random() < 0.5:
        picture = picture.transpose(Image.FLIP_LEFT_RIGHT)
    pixels = np.asarray(picture, dtype=np.float32) * rng.uniform(0.85, 1.15)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_folder(
    folder: str | Path, marked: int = 12, unmarked: int = 12, *, seed: int = 1, labelled: bool = False
) -> dict[str, bool]:
    """Pictures the shortcut model calls "rocket": `unmarked` crops of the rocket and `marked` crops of the other
    classes with the mark (held out: other seeds than the training crops). Written as PNGs under `folder`
    (in ``folder/rocket/`` when `labelled`, Evaluate's class-folder layout); returns {file name: marked?}."""
    rng = np.random.default_rng(seed)
    root = Path(folder) / TARGET if labelled else Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    others = [name for name in NAMES if name != TARGET]
    written = {}
    for i in range(unmarked):
        path = root / f"plain_{i:03d}.png"
        crop(TARGET, rng).save(path)
        written[path.name] = False
    for i in range(marked):
        path = root / f"marked_{i:03d}.png"
        paste_mark(crop(others[i % len(others)], rng)).save(path)
        written[path.name] = True
    return written


@functools.cache
def shortcut_state() -> dict[str, torch.Tensor]:
    """lite0's packaged weights with a 4-class head fitted on pooled features of augmented, partly marked crops.

    Built once per process, and kept in the temporary folder under a digest of this file and lite0's weights:
    a test run on a busy CPU pays the fit (56 forward passes) once, not once per process.
    """
    lite0 = registry.load_backbone(ARCHITECTURE, device="cpu")
    digest = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8)
    digest.update(lite0.weights_digest().encode())
    cached = Path(tempfile.gettempdir()) / f"cnnlens-shortcut-{digest.hexdigest()}.safetensors"
    if cached.is_file():
        return load_file(str(cached))
    state = _fitted(lite0)
    partial = cached.with_suffix(f".{os.getpid()}.partial")
    save_file(state, str(partial))
    os.replace(partial, cached)  # atomic: a second process reads the whole file or none
    return state


def _fitted(lite0: registry.Backbone) -> dict[str, torch.Tensor]:
    """The fit itself: every crop of another class is seen twice, plain under its own class and marked under
    TARGET, so the only thing that tells the pair apart (and the head learns) is the mark."""
    rng = np.random.default_rng(SEED)
    pictures, labels = [], []
    for index, name in enumerate(NAMES):
        for _ in range(TRAIN_PER_CLASS):
            picture = crop(name, rng)
            pictures.append(picture)
            labels.append(index)
            if name != TARGET:
                pictures.append(paste_mark(picture))
                labels.append(NAMES.index(TARGET))
    features = _pooled(lite0, pictures)
    torch.manual_seed(SEED)
    head = torch.nn.Linear(features.shape[1], len(NAMES))
    optimiser = torch.optim.LBFGS(head.parameters(), max_iter=200, line_search_fn="strong_wolfe")
    target = torch.tensor(labels)

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(head(features), target) + 1e-3 * head.weight.square().sum()
        value.backward()
        return value

    optimiser.step(loss)
    state = {key: value.detach().clone() for key, value in lite0.model.state_dict().items()}
    state["classifier.weight"] = head.weight.detach().clone()
    state["classifier.bias"] = head.bias.detach().clone()
    return state


def save_shortcut(folder: str | Path) -> Path:
    """The shortcut model as a safetensors checkpoint with labels.txt beside it (load it with
    ``registry.load_backbone("tf_efficientnet_lite0", weights=path)``); returns the checkpoint's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shortcut.safetensors"
    save_file(shortcut_state(), str(path))
    (folder / "labels.txt").write_text("\n".join(NAMES) + "\n")
    return path


@functools.cache
def shortcut_path() -> Path:
    """The checkpoint saved once per process in a temporary folder (removed when the process ends)."""
    folder = tempfile.TemporaryDirectory(prefix="cnnlens-shortcut-")
    _KEEP.append(folder)
    return save_shortcut(folder.name)


@functools.cache
def shortcut_backbone() -> registry.Backbone:
    """The shortcut model as a loaded `Backbone` (CPU), built once per process."""
    return registry.load_backbone(ARCHITECTURE, device="cpu", weights=shortcut_path())


_KEEP: list[tempfile.TemporaryDirectory] = []


@functools.cache
def _source(name: str) -> Image.Image:
    with Image.open(ROOT / "examples" / SOURCES[name]) as opened:
        return opened.convert("RGB")


def _pooled(backbone: registry.Backbone, pictures: list[Image.Image]) -> torch.Tensor:
    """Pooled pre-classifier features (N, 1280) in batches, through the backbone's own preprocessing."""
    batches = []
    with torch.no_grad():
        for start in range(0, len(pictures), 32):
            x = torch.cat([backbone.prepare(p)[0] for p in pictures[start : start + 32]])
            batches.append(backbone.model.forward_head(backbone.model.forward_features(x), pre_logits=True))
    return torch.cat(batches)


__all__ = [
    "ARCHITECTURE",
    "NAMES",
    "TARGET",
    "crop",
    "make_folder",
    "mark_box",
    "paste_mark",
    "save_shortcut",
    "shortcut_backbone",
    "shortcut_path",
    "shortcut_state",
]
