"""Models of one's own with real behaviour, made offline from the default backbone's ImageNet weights.

Random weights prove structure only, so these keep real rows of tf_efficientnet_lite0's classifier as a
new head (tiger cat, espresso, tripod: three objects the quadrant image holds) and save it the ways
people do: a bare safetensors file with a labels file, a ``{"state_dict"}`` .pth with DataParallel keys,
a Lightning ``{"model"}`` checkpoint, and the folder timm's `save_for_hf` writes. A greyscale model is
the same network through timm's own input adaptation (``in_chans=1``); a binary one has the single logit
tiger cat − espresso.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import timm
import torch
from safetensors.torch import save_file
from timm.models import save_for_hf

import registry

ARCHITECTURE = "tf_efficientnet_lite0"
ROWS = (282, 967, 872)  # ImageNet's tiger cat, espresso, tripod
NAMES = ("tiger cat", "espresso", "tripod")


@functools.cache
def three_class_state() -> dict[str, torch.Tensor]:
    """lite0's packaged ImageNet weights with the classifier cut to ROWS."""
    lite0 = registry.load_backbone(ARCHITECTURE, device="cpu")
    state = {key: value.detach().clone() for key, value in lite0.model.state_dict().items()}
    for key in ("classifier.weight", "classifier.bias"):
        state[key] = state[key][list(ROWS)]
    return state


def save_three_class(folder: Path) -> dict[str, Path]:
    """The 3-class model saved every way people save one, each in its own folder under `folder`."""
    state = three_class_state()
    paths = {}
    bare = folder / "bare"
    bare.mkdir(parents=True, exist_ok=True)
    save_file(state, str(bare / "three.safetensors"))
    (bare / "labels.txt").write_text("\n".join(NAMES) + "\n")
    paths["safetensors"] = bare / "three.safetensors"
    paths["labels"] = bare / "labels.txt"

    parallel = folder / "parallel"
    parallel.mkdir(exist_ok=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 7}, parallel / "three.pth")
    (parallel / "labels.json").write_text(json.dumps({str(i): name for i, name in enumerate(NAMES)}))
    paths["parallel"] = parallel / "three.pth"

    lightning = folder / "lightning"
    lightning.mkdir(exist_ok=True)
    torch.save({"model": {f"model.{k}": v for k, v in state.items()}, "optimizer": {}}, lightning / "three.ckpt.pt")
    paths["lightning"] = lightning / "three.ckpt.pt"

    model = timm.create_model(ARCHITECTURE, num_classes=len(ROWS))
    model.load_state_dict(state)
    save_for_hf(model, folder / "hf", model_config={"label_names": list(NAMES)})
    paths["hf"] = folder / "hf"
    return paths


def save_greyscale(folder: Path) -> Path:
    """The 3-class model with a 1-channel stem (timm sums the RGB filters: `adapt_input_conv`)."""
    source = folder / "source.safetensors"
    save_file(three_class_state(), str(source))
    model = timm.create_model(
        ARCHITECTURE,
        pretrained=True,
        in_chans=1,
        num_classes=len(ROWS),
        pretrained_cfg_overlay={"file": str(source), "num_classes": len(ROWS)},
    )
    path = folder / "grey.safetensors"
    save_file(model.state_dict(), str(path))
    return path


def save_binary(folder: Path) -> Path:
    """A single-logit head: z = tiger cat's logit − espresso's."""
    state = dict(three_class_state())
    state["classifier.weight"] = (state["classifier.weight"][0] - state["classifier.weight"][1])[None]
    state["classifier.bias"] = (state["classifier.bias"][0] - state["classifier.bias"][1])[None]
    path = folder / "cat_or_not.safetensors"
    save_file(state, str(path))
    return path
