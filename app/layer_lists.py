"""A method's layer list: "auto", the network's stages, then every other layer; refilled with the layers of the
backbone now chosen whenever the backbone or the weights choice changes."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

import registry
from app import handlers
from registry import Plugin

AUTO_LAYER = "auto"


def chosen_layer(value: str | None) -> str | None:
    """The layer a list's value names; None (the plugin's own choice) for "auto" or nothing."""
    return None if value in (None, "", AUTO_LAYER) else value


def layer_choices(backbone: registry.Backbone, plugin: Plugin) -> list[tuple[str, str]]:
    """The layer list as a student should meet it: "auto", then the network's stages (a handful,
    early to final), then every other layer; each entry leads with its depth word."""
    default = plugin.auto_layer(backbone) or "none"
    first = _first_convolution(backbone)
    stages = [layer for layer in backbone.layers if layer.stage is not None and layer is not first]
    others = [layer for layer in backbone.layers if layer.stage is None and layer is not first]
    return (
        [(f"auto · {default}", AUTO_LAYER)]
        + ([(f"first convolution · early · {first.name} · {_shape(first)}", first.name)] if first else [])
        + [
            (f"stage {layer.stage} · {layer.depth_name} · {layer.name} · {_shape(layer)}", layer.name)
            for layer in stages
        ]
        + [(f"{layer.depth_name} · {layer.name} · {_shape(layer)}", layer.name) for layer in others]
    )


def _first_convolution(backbone: registry.Backbone) -> registry.LayerInfo | None:
    """The layer that reads the pixels, named as Learn names it, so a student finds it at the top of the list."""
    from registry.teaching import filters

    try:
        name, _module = filters.first_convolution(backbone)
    except ValueError:
        return None
    return next((layer for layer in backbone.layers if layer.name == name), None)


def _shape(layer: registry.LayerInfo) -> str:
    return f"{layer.channels}×{layer.height}×{layer.width}"


def layer_updates(owners: tuple[Plugin, ...]) -> Callable:
    """After a backbone change, refill every layer dropdown (one per plugin of `owners`) with that backbone's layers."""

    def update(backbone_value: str, allow_value: bool, progress=gr.Progress(track_tqdm=True)):
        try:
            backbone = handlers.load_with_progress(backbone_value, allow_value, progress)
        except gr.Error:  # no model: no layers to offer but "auto" (the run will say what is wrong)
            updates = [gr.update(choices=[(AUTO_LAYER, AUTO_LAYER)], value=AUTO_LAYER) for _ in owners]
        else:
            updates = [gr.update(choices=layer_choices(backbone, p), value=AUTO_LAYER) for p in owners]
        return updates if len(updates) > 1 else updates[0]

    return update
