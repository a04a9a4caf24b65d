"""The methods' tabs, built from the registry: one tab per family of methods, one tab per plugin inside it. No plugin
is named here: a plugin's declarations (parameters, layer, class, cost) make its controls, Run and event.

Each Run is an event named after its plugin (`/gradcam`), callable by a script but off the API page
(`api_visibility="undocumented"`): scripts explain through `/explain` with a `method` argument (app/script_api.py),
so the page stays one screen whatever the number of methods."""

from __future__ import annotations

import inspect

import gradio as gr

import registry
from app import api_result, controls, layer_lists, plugin_run, support
from app.page import Page, Results, TabParts, joined
from app.requests import gpu, lane
from app.teaching import build_teaching_section
from app.trust_section import Scorable, build_trust_section
from registry import Param, Plugin
from registry.imaging import sample_paths


def build(page: Page) -> TabParts:
    """A tab per family (in `registry.FAMILIES` order), the family's methods as tabs inside it, then the family's
    trust section for whichever of its heatmap methods is open."""
    parts = []
    for family, members in families(registry.list_plugins()):
        title, blurb = registry.FAMILIES[family]
        with gr.Tab(title, id=f"family-{family}", elem_id=f"family-{family}"):
            gr.Markdown(blurb, elem_classes="family-blurb")
            scorables = []
            with gr.Tabs(overflow_behavior="wrap"):
                for plugin in members:
                    with gr.Tab(plugin.title, id=plugin.name, elem_id=f"tab-{plugin.name}") as tab:
                        part, layer, knobs = build_method_tab(plugin, page)
                    parts.append(part)
                    if plugin.output == "heatmap":
                        scorables.append(Scorable(plugin, tab, layer, tuple(knobs)))
            if scorables:
                parts.append(build_trust_section(family, scorables, page))
    return joined(parts)


def families(plugins: list[Plugin]) -> list[tuple[str, list[Plugin]]]:
    """The plugins grouped by family, in `registry.FAMILIES` order (each family's methods as listed); empty ones
    left out, so a family appears as soon as one plugin joins it."""
    return [
        (family, members)
        for family in registry.FAMILIES
        if (members := [plugin for plugin in plugins if plugin.family == family])
    ]


def build_method_tab(plugin: Plugin, page: Page) -> tuple[TabParts, gr.Dropdown | None, list]:
    """One tab: description, controls, run button and outputs; returns its parts, its layer list (or None) and its
    controls (the family's trust section scores the map they give). The outputs' labels are the API's output
    names (map, gallery, info, json, raw_map, overlay): short, and the same for every plugin."""
    gr.Markdown(
        plugin.description
        + ("" if plugin.cost == "light" else f"\n\n*Cost: {plugin.cost} — {registry.COSTS[plugin.cost]}.*")
    )
    heatmap = plugin.output == "heatmap"
    refused = gr.Markdown(support.support_line(plugin, page.backbone), elem_id=f"support-{plugin.name}")
    build_teaching_section(plugin)
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            layer = None
            if plugin.needs_layer:
                layer = controls.OpenDropdown(
                    choices=layer_lists.layer_choices(page.backbone, plugin),
                    value=layer_lists.AUTO_LAYER,
                    allow_custom_value=True,
                    label="Layer",
                    info="Which layer to look at.",
                    elem_id=f"layer-{plugin.name}",
                )
            knobs = [control_for(param) for param in plugin.all_params]
            run = gr.Button(f"Run {plugin.title}", variant="primary", elem_id=f"run-{plugin.name}")
            stop = controls.stop_button(f"stop-{plugin.name}") if plugin.cost != "light" else None
        with gr.Column(scale=5, elem_classes="result-column"):
            main = controls.result_picture(
                "Map",
                f"result-{plugin.name}",
                height=360,
                alt_text=f"{plugin.title} of the image; the text below names the class, layer and colour scale",
            )
            info = gr.Markdown(elem_id=f"info-{plugin.name}", label="info")
            gallery = gr.Gallery(  # contain: "what the model saw" whole, not cropped to a square
                label="Gallery", format="png", columns=4, height=260, object_fit="contain", interactive=False
            )
            with gr.Row(visible=heatmap):  # image-only plugins have no map to download
                raw_map = gr.File(label="Raw map", interactive=False, elem_id=f"raw-map-{plugin.name}")
                overlay = gr.File(label="Overlay", interactive=False, elem_id=f"overlay-{plugin.name}")
            with gr.Accordion("Result as data (what the API's `json` output holds)", open=False):
                data = api_result.ResultJSON(label="JSON", elem_id=f"json-{plugin.name}")
    own = ([layer] if layer is not None else []) + knobs
    inputs = [
        page.image,
        page.backbone_name,
        page.target if plugin.needs_target else gr.State(None),  # a method that explains no class takes none
        page.allow_random,
        layer if layer is not None else gr.State(None),
        *knobs,
    ]
    outputs = [main, gallery, info, data, raw_map, overlay]
    heavy = plugin.cost != "light"
    event = run.click(  # progress in one place, over the map (not repeated on the text, gallery and files)
        gpu(_handler(plugin), heavy),
        inputs=inputs,
        outputs=outputs,
        show_progress_on=main,
        api_name=plugin.name,
        api_visibility="undocumented",  # callable; documented once for every method as /explain
        **lane(heavy),
    )
    if stop is not None:  # a heavy method may run for a minute on a CPU
        controls.stops(stop, [event])
    reads = (page.image, page.backbone_name, page.allow_random, *([page.target] if plugin.needs_target else []), *own)
    parts = TabParts(
        results=(Results(shown=tuple(outputs), reads=reads),),
        layer_lists=((plugin, layer),) if layer is not None else (),
        support_lines=((plugin, refused),),
    )
    return parts, layer, knobs


def control_for(param: Param) -> gr.components.Component:
    """The widget a parameter declares: slider for numbers, checkbox, dropdown for choices (values checked by
    the Param)."""
    if param.kind == "image":
        picture = controls.image_param(param)
        if param.choices:  # the bundled pictures it offers, one click away (nothing runs at start-up)
            gr.Examples(
                [[str(sample_paths()[name])] for name in param.choices],
                inputs=[picture],
                label=f"Bundled {param.display_label.lower()}s",
                cache_examples=False,
            )
        return picture
    common = {"label": param.display_label, "info": param.help or None}
    if param.kind == "bool":
        return controls.checked(controls.Checkbox, param, value=param.default, **common)
    if param.kind == "choice":
        return controls.checked(controls.Dropdown, param, choices=list(param.choices), value=param.default, **common)
    step = param.step or (1 if param.kind == "int" else (param.maximum - param.minimum) / 100)
    precision = 0 if param.kind == "int" else None  # typed "int" in the API, not "float"
    return controls.checked(
        controls.Slider,
        param,
        minimum=param.minimum,
        maximum=param.maximum,
        value=param.default,
        step=step,
        precision=precision,
        **common,
    )


def _handler(plugin: Plugin):
    """The event function, with a signature naming each input, so API callers see real names."""
    names = [param.name for param in plugin.all_params]

    def handle(image, backbone, target, allow_untrained, layer, *values, progress=gr.Progress(track_tqdm=True)):
        chosen = plugin_run.opened_pictures(plugin, dict(zip(names, values)))
        return plugin_run.run_plugin(plugin, image, backbone, target, allow_untrained, layer, chosen, progress)

    fixed = list(inspect.signature(handle).parameters.values())
    positional = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in fixed[:5]]
    parameters = [
        inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default) for p in plugin.all_params
    ]
    handle.__signature__ = inspect.Signature(positional + parameters + [fixed[-1]])
    return handle
