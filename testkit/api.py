"""Calling a method the documented way: gradio_client's keyword arguments for `/explain` (app/script_api.py)."""

from __future__ import annotations

from typing import Any

__all__ = ["GENERAL", "explain", "tab_event"]

GENERAL = (
    "image",
    "backbone",
    "target",
    "allow_untrained",
    "layer",
    "second_image",
)  # /explain's own; the rest: params


def explain(method: str, **inputs: Any) -> dict[str, Any]:
    """`client.predict(**explain("gradcam", image=…, target=…, opacity=0.6))`: the method's own parameters go into
    `params`, the image, backbone, class, weights switch and layer stay arguments of their own."""
    params = {name: value for name, value in inputs.items() if name not in GENERAL}
    general = {name: value for name, value in inputs.items() if name in GENERAL}
    return {**general, "method": method, "params": params, "api_name": "/explain"}


def tab_event(method: str, image: Any, **inputs: Any) -> tuple[list[Any], dict[str, Any]]:
    """(positional arguments, keywords) for a method tab's own event `/<method>`: callable but undocumented, so
    gradio_client knows no names or defaults for it and every value goes in order, the registry's defaults filling
    what `inputs` leaves out. It runs in the method's own lane (light for a light method), as the page's Run does."""
    import registry  # only here: the keyword helper above needs no model code

    plugin = registry.get_plugin(method)
    known = {"backbone": registry.DEFAULT_BACKBONE, "target": None, "allow_untrained": False, "layer": "auto"}
    unknown = set(inputs) - set(known) - {p.name for p in plugin.all_params}
    if unknown:
        raise TypeError(f"{method} takes no {', '.join(sorted(unknown))}")
    # An image parameter's input is a file or empty (its default, a bundled picture's name, is not a file).
    defaults = {p.name: None if p.kind == "image" else p.default for p in plugin.all_params}
    values = {**known, **defaults, **inputs}
    args = [image, values["backbone"]]
    args += [values["target"]] if plugin.needs_target else []
    args += [values["allow_untrained"]]
    args += [values["layer"]] if plugin.needs_layer else []
    args += [values[p.name] for p in plugin.all_params]
    return args, {"api_name": f"/{method}"}
