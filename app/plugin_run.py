"""What a method tab's Run does, for the UI and the API alike: load the backbone, run the plugin, save its pictures
and map, and describe the result in words. A plugin that raises becomes an error in its own tab; the server keeps
serving everyone else."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
from PIL import Image

import registry
from app import api_result, results
from app.handlers import load_with_progress, open_image, parse_target, user_error, without_paths
from app.layer_lists import chosen_layer
from registry import Plugin, Visualization, render
from registry.teaching import lesson

log = logging.getLogger("cnnlens")

DISPLAY_SIZE = 448  # pictures are returned at twice the usual model view, so a 224 map is not a thumbnail


Outputs = tuple[str, list[tuple[str, str]], str, dict[str, Any], str | None, str | None]


def run_plugin(
    plugin: Plugin,
    image_path: str | None,
    backbone_name: str,
    target_choice: Any,
    allow_random: bool,
    layer: str | None,
    param_values: dict[str, Any],
    progress: gr.Progress | None = None,
) -> Outputs:
    """Run one plugin for the UI and the API: (map, gallery of (picture, caption), info text, result as data,
    raw map .npy, overlay .png); files are paths written once for this run (raw map and overlay are None
    for plugins that draw pictures rather than a map)."""
    # Not `progress or …`: gr.Progress has a __len__ (0 until it tracks an iterable), so it is falsy and every
    # step went to a no-op: why people saw "processing 2.3/1.8 s" and never "Loading <backbone>".
    step = progress if progress is not None else (lambda *args, **kwargs: None)
    if not image_path:
        raise user_error("Upload an image first (or click one of the examples).")
    backbone = load_with_progress(backbone_name, allow_random, progress)
    target = parse_target(target_choice, backbone.labels)
    image = open_image(image_path, backbone)
    step(0.1, desc=f"Computing {plugin.title} on {backbone.device}…")
    try:
        result = plugin.run(
            backbone,
            image,
            target=target,
            layer=chosen_layer(layer),
            progress=lambda fraction, words: step(0.1 + 0.8 * fraction, desc=words),
            **param_values,
        )
    except ValueError as exc:  # our own checks: bad target, layer or parameter
        raise user_error(str(exc)) from None
    except Exception as exc:
        log.exception("plugin %s failed on %s", plugin.name, backbone.name)
        raise gr.Error(
            f"{plugin.title} failed on {backbone.name}: {type(exc).__name__}: {without_paths(str(exc))}"
        ) from None
    step(0.9, desc="Drawing the pictures…")
    files = save_result(result)
    gallery = [(files[f"gallery{index}"], caption) for index, caption in enumerate(result.captions[1:], start=1)]
    return (
        files["map"],
        gallery,
        describe(result, backbone),
        api_result.result_json(result, backbone),
        files.get("raw_map"),
        files.get("overlay"),
    )


def opened_pictures(plugin: Plugin, values: dict[str, Any], second_image: str | None = None) -> dict[str, Any]:
    """`values` with each parameter of kind image decoded: an upload's checked path (the tab's image input, or
    `/explain`'s `second_image` for the method's first image parameter) opened by the one decoding path, an empty
    input taken as the parameter's default (a bundled picture); a file that is not an image is refused in words."""
    pictures = [param for param in plugin.all_params if param.kind == "image"]
    if second_image and not pictures:
        raise user_error(f"{plugin.title} takes no second image: leave second_image out.")
    opened = dict(values)
    for index, param in enumerate(pictures):
        value = second_image if index == 0 and second_image else opened.get(param.name)
        if isinstance(value, str) and value not in param.choices:
            opened[param.name] = open_image(value)  # a checked upload: decoded, capped, EXIF turned
        elif value is None:
            opened[param.name] = param.default
    return opened


def save_result(result: Visualization) -> dict[str, str]:
    """Every picture of a result at display size (the map with its colour bar), plus for a heatmap the raw
    map (.npy, float32, model view size) and the overlay: written once, under this run's own names."""
    pictures = {f"gallery{index}": enlarge(image) for index, image in enumerate(result.images[1:], start=1)}
    main = enlarge(result.images[0])
    arrays = {}
    if result.raw is not None:  # a heatmap: the overlay on its own, and the numbers behind it
        pictures["overlay"] = main
        arrays["raw_map"] = result.raw
    if result.scale:  # say what its colours mean (a map that is zero everywhere has none: its note says so)
        main = render.with_colorbar(main, result.colormap, result.scale, result.signed)
    pictures["map"] = main
    stem = "_".join([result.plugin, result.backbone] + ([str(result.target)] if result.target is not None else []))
    return results.save_run(stem, pictures, arrays)


def enlarge(image: Image.Image) -> Image.Image:
    """Scale a picture up to the display size (448 px on its longest side; larger ones stay as they are), so
    every picture of a result comes at one size and a 224 px map is not a thumbnail."""
    scale = DISPLAY_SIZE / max(image.size)
    if scale <= 1:
        return image
    # A whole factor (224 → 448, a 112 px feature tile → 448) repeats pixels: nothing invented, the layer's cells
    # stay sharp, and the PNG stays small. Other factors (a 260 px view) are resampled smoothly.
    whole = float(scale).is_integer()
    return image.resize(
        (round(image.width * scale), round(image.height * scale)),
        Image.Resampling.NEAREST if whole else Image.Resampling.LANCZOS,
    )


def describe(result: Visualization, backbone: registry.Backbone) -> str:
    """The text under a result: what was explained, where and how fast."""
    lines = []
    if result.label is not None:
        lines.append(f"**Class explained:** {result.target}: {result.label} (p = {result.probability:.3f})")
    if result.layer is not None:
        lines.append(
            f"**Layer:** `{result.layer.name}` ({result.layer.channels}×{result.layer.height}×"
            f"{result.layer.width}) — {lesson.depth_lesson(result.layer)}"
        )
    if result.scale:
        lines.append(
            f"**Map scale:** the top of the colour scale is a raw value of {result.scale:.3g}"
            + (" (± for this signed map)" if result.signed else "")
        )
    lines.append(f"**Backbone:** {backbone.name}, weights from {backbone.weights_source}")
    lines.append(f"**Device:** {result.device} · **time:** {result.seconds * 1000:.0f} ms")
    lines += [f"⚠️ {note}" if note in result.warnings else note for note in result.notes]  # the mark: warnings only
    return "\n\n".join(lines)
