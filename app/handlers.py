"""What the app's events do: turn UI values into registry calls and results into UI values.

Every user mistake becomes a `gr.Error` with a sentence a person understands; a plugin that
raises becomes an error in its own tab, and the server keeps serving everyone else.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import gradio as gr
from PIL import Image

import registry
from app import results
from registry import Plugin, Visualization, render
from registry.params import parse_class_number

log = logging.getLogger("cnnlens")

PREDICTED = "predicted (top-1)"
DISPLAY_SIZE = 448  # the main picture is shown at twice the model view, so a 224 map is not a thumbnail
AUTO_LAYER = "auto"
_PATH = re.compile(r"(?<![\w.~:/])(?:/[^\s/'\":,]+)+/([^\s/'\":,]*)")  # absolute POSIX paths


def user_error(message: str) -> gr.Error:
    """A mistake the user can fix: shown in the UI, not logged as a server traceback."""
    return gr.Error(message, print_exception=False)


def target_choices(labels: list[str]) -> list[str]:
    """Dropdown entries: the predicted class first, then every class as 'index: label'."""
    return [PREDICTED] + [f"{index}: {label}" for index, label in enumerate(labels)]


def parse_target(choice: Any) -> int | None:
    """'281: tabby' or '281' → 281; empty or 'predicted' → None."""
    if choice is None or (isinstance(choice, str) and choice.strip() in ("", PREDICTED, "predicted")):
        return None
    head = choice.split(":", 1)[0] if isinstance(choice, str) else choice
    try:
        return parse_class_number(head)
    except ValueError:
        raise user_error(f"Choose a target class from the list (or type its number with the digits 0-9); "
                         f"{choice!r} is not one.") from None


def open_image(path: str | None, backbone: registry.Backbone | None = None) -> Image.Image:
    """Decode an upload (already checked by the input component), reduced to what `backbone` needs."""
    if not path:
        raise user_error("Upload an image first (or click one of the examples).")
    try:
        return registry.load_image(path, backbone.decode_side if backbone else None)
    except registry.ImageError as exc:
        raise user_error(str(exc)) from None


def get_backbone(name: str, allow_random: bool) -> registry.Backbone:
    """Load (or reuse) the backbone; random weights only when the user ticked the box."""
    try:
        return registry.load_backbone(name)
    except registry.UnknownBackboneError as exc:
        raise user_error(str(exc)) from None
    except registry.WeightsUnavailableError as exc:
        if not allow_random:
            raise user_error(f"{exc} Or tick 'Allow untrained weights' to look at the structure only.") from None
    except ValueError as exc:  # e.g. an impossible device in CNNLENS_DEVICE
        raise user_error(str(exc)) from None
    return registry.load_backbone(name, weights=registry.RANDOM)


def predict(image: str | None, backbone: str, allow_untrained: bool) -> dict[str, float] | None:
    """Top-5 classes for the predictions panel (empty when there is no image yet)."""
    if not image:
        return None
    model = get_backbone(backbone, allow_untrained)
    picture = open_image(image, model)
    return {f"{index}: {label}": probability for index, label, probability in model.predict(picture, k=5)}


def layer_choices(backbone: registry.Backbone, plugin: Plugin) -> list[tuple[str, str]]:
    default = plugin.auto_layer(backbone) or "none"
    return [(f"auto · {default}", AUTO_LAYER)] + [(layer.label, layer.name) for layer in backbone.layers]


def run_plugin(plugin: Plugin, image_path: str | None, backbone_name: str, target_choice: Any,
               allow_random: bool, layer: str | None, param_values: dict[str, Any],
               progress: gr.Progress | None = None) -> tuple[str, list[tuple[str, str]], str]:
    """Run one plugin for the UI: (main picture, gallery of the others with captions, info text), pictures as PNG paths."""
    step = progress or (lambda *args, **kwargs: None)
    if not image_path:
        raise user_error("Upload an image first (or click one of the examples).")
    target = parse_target(target_choice)
    step(0.1, desc=f"Loading {backbone_name}")
    backbone = get_backbone(backbone_name, allow_random)
    image = open_image(image_path, backbone)
    step(0.4, desc=f"Computing {plugin.title} on {backbone.device}")
    chosen_layer = None if layer in (None, "", AUTO_LAYER) else layer
    try:
        result = plugin.run(backbone, image, target=target, layer=chosen_layer,
                            progress=lambda fraction, words: step(0.4 + 0.6 * fraction, desc=words), **param_values)
    except ValueError as exc:  # our own checks: bad target, layer or parameter
        raise user_error(str(exc)) from None
    except Exception as exc:
        log.exception("plugin %s failed on %s", plugin.name, backbone.name)
        raise gr.Error(f"{plugin.title} failed on {backbone.name}: {type(exc).__name__}: {without_paths(str(exc))}") from None
    step(1.0, desc="Done")
    # Paths, not PIL images: Gradio would rewrite a shared content-named file under other downloads.
    gallery = [(results.save_unique(image, plugin.name), caption)
               for image, caption in zip(result.images[1:], result.captions[1:])]
    main = enlarge(result.images[0])
    if result.scale is not None:  # a heatmap: say what its colours mean
        main = render.with_colorbar(main, result.colormap, result.scale, result.signed)
    return results.save_unique(main, plugin.name), gallery, describe(result, backbone)


def without_paths(text: str) -> str:
    """An unexpected error's message with server paths cut to their last part ('…/model.py')."""
    return _PATH.sub(lambda match: f"…/{match.group(1)}", text)


def enlarge(image: Image.Image) -> Image.Image:
    """Scale the main picture up for display (the API result keeps the model-view size)."""
    scale = DISPLAY_SIZE / max(image.size)
    if scale <= 1:
        return image
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def describe(result: Visualization, backbone: registry.Backbone) -> str:
    """The text under a result: what was explained, where and how fast."""
    lines = []
    if result.label is not None:
        lines.append(f"**Class explained:** {result.target}: {result.label} (p = {result.probability:.3f})")
    if result.layer is not None:
        lines.append(f"**Layer:** `{result.layer.name}` ({result.layer.channels}×{result.layer.height}×"
                     f"{result.layer.width}) — {result.layer.lesson}")
    if result.scale is not None:
        lines.append(f"**Map scale:** the top of the colour scale is a raw value of {result.scale:.3g}"
                     + (" (± for this signed map)" if result.signed else ""))
    lines.append(f"**Backbone:** {backbone.name}, weights from {backbone.weights_source}")
    lines.append(f"**Device:** {result.device} · **time:** {result.seconds * 1000:.0f} ms")
    lines += [f"⚠️ {note}" for note in result.notes]
    return "\n\n".join(lines)
