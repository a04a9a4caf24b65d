"""The endpoints a script reads, the same whatever the number of methods: `/methods` lists every registered method
with its parameters, `/explain` runs any of them (`method` and its parameters as a mapping), `/trust` runs a trust
check of any of them. Their types are plain (a name is `str`, the parameters `dict(str, Any)`), so the API page does
not grow when a plugin is registered; the tabs' own events stay callable but off the page (app/method_tabs.py).

A script's misuse is answered in a sentence before Gradio's own processing meets it (`ScriptMisuse`): a file where
an endpoint takes a plain value or takes nothing more (an image passed to `/learn_network`), a path string where it
takes a file, a mapping or list where it takes a name. An unknown method or parameter, a value of the wrong type or
out of range are refused in words by the registry's own checks (`registry.get_plugin`, `Plugin.resolve_params`).
"""

from __future__ import annotations

import inspect
from typing import Any

import gradio as gr

import registry
from app import api_result, handlers, layer_lists, plugin_run
from app.page import Page
from app.requests import gpu, lane
from app.trust_section import CHECKS, run_check, steps_slider
from registry import Param, Plugin
from registry.imaging import shorten

API_NAMES = ("methods", "explain", "trust")
FILE_MODELS = ("FileData", "ListFiles", "ImageData")  # the data models of file inputs (app/uploads.py refuses theirs)


class Mapping(gr.JSON):
    """A JSON input documented as `dict(str, Any)`: a method's parameters by name, not "any valid json"."""

    def get_block_name(self) -> str:
        return "json"

    def api_info(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": True}


def build(page: Page) -> None:
    """The three endpoints, carried by components that are never shown; the image, backbone, class and weights
    switch are the page's own (as `/predict`'s)."""
    with gr.Column(visible=False):
        method = gr.Textbox(label="method")
        params = Mapping(value={}, label="params")
        layer = gr.Textbox(value=layer_lists.AUTO_LAYER, label="layer")
        check = gr.Radio(list(CHECKS), value=CHECKS[0], label="check")
        steps = steps_slider(label="steps")
        baseline = gr.Radio(list(registry.BASELINES), value="blur", label="baseline")
        listing = gr.JSON(label="methods")
        shown = [
            gr.Image(label="map", format="png", alt_text="The method's map of the image, with its colour bar"),
            gr.Gallery(label="gallery", format="png"),
            gr.Markdown(label="info"),
            api_result.ResultJSON(label="json"),
            gr.File(label="raw_map"),
            gr.File(label="overlay"),
        ]
        figure = gr.Image(
            label="figure", format="png", alt_text="The trust check's figure; the summary gives its numbers"
        )
        checked = [figure, gr.Markdown(label="summary"), gr.JSON(label="numbers")]
        carrier = gr.Button(visible=False)
    carrier.click(list_methods, inputs=None, outputs=listing, api_name="methods", queue=False)
    common = [page.image, method, params, page.backbone_name, page.target, page.allow_random, layer]
    # Any method may be heavy, so both run in the heavy lane: a script cannot pass the heavy cap by this door.
    carrier.click(gpu(explain, heavy=True), inputs=common, outputs=shown, api_name="explain", **lane(True))
    checking = [page.image, method, check, *common[2:], steps, baseline]
    carrier.click(gpu(trust, heavy=True), inputs=checking, outputs=checked, api_name="trust", **lane(True))


def list_methods() -> list[dict[str, Any]]:
    """/methods: every registered method, with what `/explain` takes for it: its parameters (name, kind, default,
    range or choices, help), whether it explains a class and looks at a layer, its cost and what it returns."""
    return [
        {
            "name": plugin.name,
            "title": plugin.title,
            "family": plugin.family,
            "cost": plugin.cost,
            "output": plugin.output,
            "needs_target": plugin.needs_target,
            "needs_layer": plugin.needs_layer,
            "trust_checks": plugin.output == "heatmap",
            "params": [describe_param(param) for param in plugin.all_params],
        }
        for plugin in registry.list_plugins()
    ]


def describe_param(param: Param) -> dict[str, Any]:
    """One parameter as data: what a script may pass for it."""
    entry: dict[str, Any] = {"name": param.name, "kind": param.kind, "default": param.default}
    if param.kind in ("int", "float"):
        entry.update(minimum=param.minimum, maximum=param.maximum, step=param.step)
    if param.kind == "choice":
        entry["choices"] = list(param.choices)
    entry.update(label=param.display_label, help=param.help)
    return entry


def explain(
    image: str | None,
    method: str,
    params: dict[str, Any] | None,
    backbone: str,
    target: Any,
    allow_untrained: bool,
    layer: str | None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> plugin_run.Outputs:
    """/explain: `method`'s map of the image (map, gallery, info, json, raw_map, overlay), as its tab draws it."""
    plugin, values = checked_request(method, params, target, layer)
    return plugin_run.run_plugin(plugin, image, backbone, target, allow_untrained, layer, values, progress)


def trust(
    image: str | None,
    method: str,
    check: str,
    params: dict[str, Any] | None,
    backbone: str,
    target: Any,
    allow_untrained: bool,
    layer: str | None,
    steps: int,
    baseline: str,
    progress: gr.Progress = gr.Progress(),
) -> tuple[Any, str, dict[str, Any]]:
    """/trust: one trust check (`faithfulness`: deletion / insertion; `sanity_check`: model randomization) of
    `method`'s map, as the tab's "How faithful is this map?" runs it: (figure, summary, numbers)."""
    plugin, values = checked_request(method, params, target, layer)
    if plugin.output != "heatmap":
        raise handlers.user_error(f"{plugin.title} draws pictures, not a map, so it has no trust checks to run.")
    if not image:
        raise handlers.user_error("Upload an image first (or click one of the examples).")
    args = (image, backbone, target, allow_untrained, layer, values, progress)
    return run_check(plugin, check, *args, steps=steps, baseline=baseline)


def checked_request(method: Any, params: Any, target: Any, layer: Any) -> tuple[Plugin, dict[str, Any]]:
    """The plugin `method` names and its parameters, each checked against the plugin's declaration; a class or a
    layer for a method that takes none is refused rather than ignored."""
    plugin = named_plugin(method)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise handlers.user_error(
            f"params must be a mapping of {plugin.title}'s parameter names to values, e.g. "
            f"{{{', '.join(repr(p.name) + ': ' + repr(p.default) for p in plugin.all_params[:2])}}}; "
            f"got {shorten(params)}."
        )
    reserved = sorted(set(params) & {"image", "backbone", "target", "layer", "allow_untrained"})
    if reserved:
        raise handlers.user_error(f"Pass {', '.join(reserved)} as an argument of its own, not inside params.")
    try:
        values = plugin.resolve_params(params)
    except ValueError as exc:
        raise handlers.user_error(str(exc)) from None
    if not plugin.needs_target and handlers.parse_target(target) is not None:
        raise handlers.user_error(f"{plugin.title} explains no class, so it takes no target: leave target out.")
    if not plugin.needs_layer and layer_lists.chosen_layer(layer) is not None:
        raise handlers.user_error(f"{plugin.title} looks at no layer, so it takes no layer: leave layer out.")
    return plugin, values


def named_plugin(method: Any) -> Plugin:
    """The registered method `method` names; a name missing, not text or unknown is refused in words."""
    if not isinstance(method, str) or not method.strip():
        raise handlers.user_error("Name a method, e.g. method='gradcam' (the /methods endpoint lists them).")
    try:
        return registry.get_plugin(method.strip())
    except (KeyError, ValueError) as exc:
        raise handlers.user_error(str(exc).strip("'\"")) from None


class ScriptMisuse:
    """A Blocks mix-in: refuse, in a sentence naming the parameter, a request Gradio's processing would meet with an
    exception the client only sees as "The upstream Gradio app has raised an exception" (e.g. `'dict' object has no
    attribute 'strip'` for an image passed where a name is taken)."""

    async def preprocess_data(self, *args: Any, **kwargs: Any) -> Any:
        block_fn = kwargs.get("block_fn", args[0] if args else None)
        inputs = kwargs.get("inputs", args[1] if len(args) > 1 else None)
        if block_fn is not None and isinstance(inputs, list) and (problem := misuse(block_fn, inputs)):
            raise handlers.user_error(problem)
        return await super().preprocess_data(*args, **kwargs)


def misuse(block_fn: Any, inputs: list[Any]) -> str | None:
    """What is wrong with `inputs` for this event, in words, or None: a file where none is taken, a plain path
    where a file is, a mapping or a list where a name is."""
    blocks = list(block_fn.inputs)
    names = _parameter_names(block_fn)
    endpoint = f"/{block_fn.api_name}" if isinstance(block_fn.api_name, str) else "This event"
    taken = [name for block, name in zip(blocks, names) if not getattr(block, "skip_api", False)]
    for index, value in enumerate(inputs):
        if index >= len(blocks):
            if value is None:
                continue
            what = "a file" if _is_file(value) else "a value"
            return (
                f"{endpoint} takes {len(taken)} values ({', '.join(taken) or 'none'}); it was sent {what} "
                f"after them, which it does not take: leave it out."
            )
        block, name = blocks[index], names[index]
        if getattr(block, "skip_api", False) or value is None:
            continue
        takes_file = getattr(getattr(block, "data_model", None), "__name__", "") in FILE_MODELS
        if takes_file and isinstance(value, str):
            return (
                f"{name} takes a file, not a path or URL as a string: with gradio_client, pass "
                f"handle_file('cat.png') (it uploads the file)."
            )
        if not takes_file and _is_file(value):
            return f"{name} is a plain value, not a file: {endpoint} takes no image or file there ({', '.join(taken)})."
        if not takes_file and _text_only(block) and not isinstance(value, str):
            return f"{name} takes text (a name), not {shorten(value)}."
    return None


def _is_file(value: Any) -> bool:
    """Whether a payload is a file reference as gradio_client's handle_file sends it (after its upload)."""
    return isinstance(value, dict) and ("path" in value or "gradio.FileData" in str(value.get("meta", "")))


def _text_only(block: Any) -> bool:
    """A component whose API type is one string (a textbox, a single-choice open dropdown)."""
    try:
        return block.api_info() == {"type": "string"}
    except Exception:  # a component whose schema needs its config: not ours to judge
        return False


def _parameter_names(block_fn: Any) -> list[str]:
    """The event function's parameter names, one per input (Gradio passes inputs in order), else the labels."""
    labels = [getattr(block, "label", None) or f"value {i + 1}" for i, block in enumerate(block_fn.inputs)]
    try:
        parameters = list(inspect.signature(block_fn.fn).parameters.values())
    except (TypeError, ValueError):
        return labels
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional[: len(labels)] + labels[len(positional) :]
