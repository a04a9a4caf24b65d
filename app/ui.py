"""The Gradio interface, built from the registry: a tab per family of methods, one per plugin inside it, no plugin
named here."""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

import registry
from app import api_result, controls, handlers, support, uploads
from app.compare_tab import build_compare_tab
from app.evaluate_tab import build_evaluate_tab
from app.learn_tab import build_learn_tab
from app.own_model_section import backbone_choices, build_own_model_section, forget_session
from app.requests import gpu, lane
from app.teaching import build_teaching_section
from app.trust_section import FAITHFULNESS_SUFFIX, SANITY_SUFFIX, build_trust_section
from registry import Param, Plugin
from registry.imaging import sample_paths
from spaces_config.zerogpu import build_device

log = logging.getLogger("cnnlens")


INTRO = (
    "# CNN Lens\n"
    "See what a convolutional network sees. Drop in an image, pick a backbone "
    "(any [timm](https://github.com/huggingface/pytorch-image-models) model),\n"
    "then open a tab. **Early layers** respond to edges and colours, **middle layers** to textures and parts,\n"
    "**final layers** to whole objects: the feature maps show it, Grad-CAM and saliency show *where* the evidence "
    "for a class lies."
)


class LensBlocks(uploads.FileRefusals, gr.Blocks):
    """gr.Blocks whose API page (`view_api()`, "Use via API") lists the main endpoints first: `/predict`, each
    method, `/compare`; then the rest (uploads, Learn); the trust checks of every method last. All stay. Gradio's
    own refusals of a file reference answer in the app's sentence (`uploads.FileRefusals`)."""

    lead: tuple[str, ...] = ()

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        info = super().get_api_info(all_endpoints=all_endpoints, page=page)
        named = info["named_endpoints"]
        lead = [f"/{name}" for name in self.lead]

        def rank(item: tuple[int, str]) -> tuple[int, int]:
            position, name = item
            if name in lead:
                return 0, lead.index(name)
            return (2 if name.endswith((FAITHFULNESS_SUFFIX, SANITY_SUFFIX)) else 1), position

        info["named_endpoints"] = {name: named[name] for _, name in sorted(enumerate(named), key=rank)}
        return info


class ImageInput(gr.Image):
    """gr.Image that opens only uploads and examples (app/uploads.py), hands over the file
    untouched and rejects non-images politely. Every file input must be one (build_app checks)."""

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        try:
            path = uploads.checked_upload(getattr(payload, "path", None))
        except uploads.RefusedFile as exc:
            raise handlers.user_error(str(exc)) from None
        if self.type == "filepath":
            return path  # Gradio would open it just to read its mode; the handler decodes it once
        payload.path = path
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception:
            raise handlers.user_error(uploads.REFUSED) from None  # as a missing file: app/uploads.py


def control_for(param: Param) -> gr.components.Component:
    """The widget a parameter declares: slider for numbers, checkbox, dropdown for choices (values checked by
    the Param)."""
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


def build_app(default_backbone: str | None = None) -> gr.Blocks:
    """Build the Blocks; the default backbone is loaded now so its layers fill the dropdowns."""
    default_name = default_backbone or os.environ.get("CNNLENS_BACKBONE") or registry.DEFAULT_BACKBONE
    try:
        backbone = registry.load_backbone(default_name, device=build_device())
    except (ValueError, RuntimeError) as exc:  # e.g. a Hub model asked for while offline
        log.warning("backbone %s unavailable (%s); starting with %s", default_name, exc, registry.DEFAULT_BACKBONE)
        default_name = registry.DEFAULT_BACKBONE
        backbone = registry.load_backbone(default_name, device=build_device())
    plugins = registry.list_plugins()
    examples = [str(path) for path in sample_paths().values()]

    # Result pictures are files in Gradio's cache: drop those older than an hour, every hour.
    with LensBlocks(title="CNN Lens", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Row():
            with gr.Column(scale=5):
                image = ImageInput(
                    type="filepath",
                    image_mode=None,
                    label="Image",
                    sources=["upload", "clipboard"],
                    height=320,
                    elem_id="input-image",
                )
                samples = (
                    gr.Examples(
                        examples=[[p] for p in examples],
                        inputs=[image],
                        cache_examples=False,
                        label="Sample images",
                        elem_id="samples",
                    )
                    if examples
                    else None
                )
                arrivals = image_arrivals(image, samples)
            with gr.Column(scale=4):
                backbone_name = controls.OpenDropdown(
                    choices=backbone_choices(""),
                    value=default_name,
                    allow_custom_value=True,
                    label="Backbone",
                    info="Pick one or type any timm model name, e.g. resnet50.a1_in1k",
                    elem_id="backbone",
                )
                backbone_status = gr.Markdown(handlers.backbone_status(default_name, False), elem_id="backbone-status")
                build_own_model_section(backbone_name, gpu)
                allow_random = controls.checked(  # every endpoint's weights switch: true or false, nothing else
                    controls.Checkbox,
                    Param("allow_untrained", "bool", False),
                    value=False,
                    label="Allow untrained weights",
                    info=(
                        "If no pretrained weights can be found, use random ones "
                        "(structure only; every output is marked)."
                    ),
                )
                target = controls.ClassPicker(
                    choices=handlers.target_choices(backbone.labels),
                    value=handlers.PREDICTED,
                    allow_custom_value=True,
                    label="Target class",
                    elem_id="target",
                    info="The class the maps explain: pick one, or type a number or a name.",
                )
                target_note = gr.Markdown(elem_id="target-note")
                predictions = api_result.Predictions(
                    num_top_classes=5, label="Top-5 predictions", show_heading=False, elem_id="predictions"
                )
                gr.Markdown("Click a prediction to make it the target class.", elem_classes="hint")
                verdict = gr.Markdown(elem_id="verdict")  # right / wrong for a bundled sample (app/learn_tab.py)

        tabs: list[PluginTab] = []
        with gr.Tabs(overflow_behavior="wrap", elem_id="tabs"):  # wrap: every tab in sight, on a phone too
            with gr.Tab("Learn", id="learn", elem_id="tab-learn"):
                build_learn_tab(image, arrivals, backbone_name, allow_random, target, predictions, verdict)
            with gr.Tab("Compare", id="compare", elem_id="tab-compare"):
                compared = build_compare_tab(image, backbone_name, allow_random, target, backbone)
            with gr.Tab("Evaluate", id="evaluate", elem_id="tab-evaluate"):
                build_evaluate_tab(backbone)
            for family, members in families(plugins):  # one tab per family of methods, the methods inside
                title, blurb = registry.FAMILIES[family]
                with gr.Tab(title, id=f"family-{family}", elem_id=f"family-{family}"):
                    gr.Markdown(blurb, elem_classes="family-blurb")
                    with gr.Tabs(overflow_behavior="wrap"):
                        for plugin in members:
                            with gr.Tab(plugin.title, id=plugin.name, elem_id=f"tab-{plugin.name}"):
                                tabs.append(_plugin_tab(plugin, backbone, image, backbone_name, target, allow_random))
            with gr.Tab("Plugins", id="plugins"):
                gr.Markdown(plugins_report())

        predictions.select(_choose_target, inputs=None, outputs=target, api_visibility="private", queue=False)
        shared = [image, backbone_name, allow_random]
        # /predict for scripts (an unloadable backbone is its error); the page's own copies leave that to the
        # line under the backbone field. The button is never shown: it only carries the endpoint.
        gr.Button(visible=False).click(gpu(handlers.predict), inputs=shared, outputs=predictions, api_name="predict")
        for trigger in arrivals:
            trigger(
                gpu(handlers.shown_predictions),
                inputs=shared,
                outputs=predictions,
                show_progress="full",
                api_visibility="private",
            )
        for trigger in arrivals:
            trigger(lambda: handlers.PREDICTED, inputs=None, outputs=target, api_visibility="private", queue=False)
        for trigger in (backbone_name.change, allow_random.change):  # no old model's top-5 while the new one loads
            trigger(lambda: None, inputs=None, outputs=predictions, api_visibility="private", queue=False).then(
                gpu(handlers.shown_predictions),
                inputs=shared,
                outputs=predictions,
                api_visibility="private",
                show_progress="full",
            )
        chosen = (backbone_name.change, allow_random.change)
        for handler, output, shown, triggers in (  # what the chosen model decides, each beside its control
            (handlers.predictions_header, predictions, "hidden", (demo.load, *chosen)),  # the header names it
            (handlers.class_choices, target, "hidden", chosen),  # the class list is the model's own
            (handlers.backbone_status, backbone_status, "minimal", chosen),
        ):
            for trigger in triggers:
                trigger(
                    gpu(handler),
                    inputs=[backbone_name, allow_random],
                    outputs=output,
                    api_visibility="private",
                    show_progress=shown,
                )
        demo.unload(forget_session)  # a closed page's uploads go with it
        with_layers = [tab for tab in tabs if tab.layer is not None]
        if with_layers:  # the layer lists always list the layers of the backbone actually loaded
            for trigger in (backbone_name.change, allow_random.change):
                trigger(
                    gpu(_layer_updates(tuple(tab.plugin for tab in with_layers))),
                    inputs=[backbone_name, allow_random],
                    outputs=[tab.layer for tab in with_layers],
                    api_visibility="private",
                )
        for trigger in (target.change, predictions.change):  # the class's probability, next to the picker
            trigger(
                gpu(handlers.target_note),
                inputs=[image, backbone_name, allow_random, target],
                outputs=[target, target_note],
                api_visibility="private",
                show_progress="hidden",
            )
        support.wire([tab.plugin for tab in tabs], [tab.support for tab in tabs], backbone_name, allow_random, gpu)
        _clear_stale(tabs, arrivals, backbone_name, allow_random, target, predictions)
        for trigger in (*arrivals, allow_random.change):
            trigger(_cleared(compared), inputs=None, outputs=compared, api_visibility="private", queue=False)
    demo.lead = ("predict", *(plugin.name for plugin in plugins), "compare")
    guarded = (ImageInput, uploads.CheckedFile)
    if unguarded := uploads.unguarded_file_inputs(demo, guarded):  # no tab may open a hole
        raise RuntimeError(f"file inputs must be ImageInput or uploads.CheckedFile (checked uploads): {unguarded}")
    return demo


def families(plugins: list[Plugin]) -> list[tuple[str, list[Plugin]]]:
    """The plugins grouped by family, in `registry.FAMILIES` order (each family's methods as listed); empty ones
    left out, so a family appears as soon as one plugin joins it."""
    return [
        (family, members)
        for family in registry.FAMILIES
        if (members := [plugin for plugin in plugins if plugin.family == family])
    ]


def image_arrivals(image: gr.Image, samples: gr.Examples | None) -> list:
    """The events that bring a new image: the user's upload, paste or clear (`input`), then a sample click.

    Nothing listens to the image's `change`. In Gradio 6.31, once an event has written the image (a
    sample click writes it) and the user then uploads a photo, the image fires `change` again each time
    its listeners' updates re-render the page; with the dozen listeners the tabs need, that never settled
    (an endless loop of requests). A user's own action and the sample click's event each fire once.
    """
    return [image.input] + ([samples.load_input_event.then] if samples is not None else [])


@dataclass
class PluginTab:
    """The parts of a plugin's tab that other events update."""

    plugin: Plugin
    layer: gr.Dropdown | None
    results: list  # everything the tab shows for a run (pictures, text, data, downloads): cleared when stale
    inputs: list  # the tab's own inputs (layer, parameters): changing one makes its result stale
    support: gr.Markdown | None = None  # says when the method cannot apply to the chosen backbone


def _plugin_tab(plugin: Plugin, backbone: registry.Backbone, image, backbone_name, target, allow_random) -> PluginTab:
    """One tab: description, controls, run button and outputs. The outputs' labels are the API's output
    names (map, gallery, info, json, raw_map, overlay): short, and the same for every plugin."""
    gr.Markdown(
        plugin.description
        + ("" if plugin.cost == "light" else f"\n\n*Cost: {plugin.cost} — {registry.COSTS[plugin.cost]}.*")
    )
    heatmap = plugin.output == "heatmap"
    refused = gr.Markdown(support.support_line(plugin, backbone), elem_id=f"support-{plugin.name}")
    build_teaching_section(plugin)
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            layer = None
            if plugin.needs_layer:
                layer = controls.OpenDropdown(
                    choices=handlers.layer_choices(backbone, plugin),
                    value=handlers.AUTO_LAYER,
                    allow_custom_value=True,
                    label="Layer",
                    info="Which layer to look at.",
                    elem_id=f"layer-{plugin.name}",
                )
            knobs = [control_for(param) for param in plugin.all_params]
            run = gr.Button(f"Run {plugin.title}", variant="primary", elem_id=f"run-{plugin.name}")
            stop = controls.stop_button(f"stop-{plugin.name}") if plugin.cost != "light" else None
        with gr.Column(scale=5, elem_classes="result-column"):
            main = gr.Image(
                label="Map",
                format="png",
                interactive=False,
                elem_id=f"result-{plugin.name}",
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
    handle = _handler(plugin)
    layer_input = layer if layer is not None else gr.State(None)
    inputs = [image, backbone_name, target, allow_random, layer_input, *knobs]
    outputs = [main, gallery, info, data, raw_map, overlay]
    heavy = plugin.cost != "light"
    event = run.click(  # progress in one place, over the map (not repeated on the text, gallery and files)
        gpu(handle, heavy),
        inputs=inputs,
        outputs=outputs,
        show_progress_on=main,
        api_name=plugin.name,
        **lane(heavy),
    )
    if stop is not None:  # a heavy method may run for a minute on a CPU
        controls.stops(stop, [event])
    trust = build_trust_section(plugin, inputs) if heatmap else []
    return PluginTab(plugin, layer, [*outputs, *trust], ([layer] if layer is not None else []) + knobs, refused)


def _choose_target(event: gr.SelectData) -> str:
    """A click on a prediction ("285: Egyptian cat") makes that class the target."""
    return str(event.value)


def _handler(plugin: Plugin):
    """The event function, with a signature naming each input, so API callers see real names."""
    names = [param.name for param in plugin.all_params]

    def handle(image, backbone, target, allow_untrained, layer, *values, progress=gr.Progress(track_tqdm=True)):
        return handlers.run_plugin(
            plugin, image, backbone, target, allow_untrained, layer, dict(zip(names, values)), progress
        )

    fixed = list(inspect.signature(handle).parameters.values())
    positional = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in fixed[:5]]
    controls = [
        inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default) for p in plugin.all_params
    ]
    handle.__signature__ = inspect.Signature(positional + controls + [fixed[-1]])
    return handle


def _clear_stale(tabs: list[PluginTab], arrivals: list, backbone_name, allow_random, target, predictions) -> None:
    """One rule for every tab: a result never stays on screen once an input it was computed from changes
    (the image, backbone or weights choice for all; the class for tabs that explain one; a tab's own layer
    and parameters for that tab). The class, layers and parameters clear on the user's own change (`input`, a
    prediction clicked), not on `change`: after a backbone change the app refills them itself seconds later,
    and a map the user ran meanwhile, for the new backbone, must not be wiped by that refill."""
    everything = [component for tab in tabs for component in tab.results]
    if not everything:
        return
    for trigger in (*arrivals, backbone_name.change, allow_random.change):
        trigger(_cleared(everything), inputs=None, outputs=everything, api_visibility="private", queue=False)
    explaining = [component for tab in tabs if tab.plugin.needs_target for component in tab.results]
    if explaining:
        for trigger in (target.input, predictions.select):
            trigger(_cleared(explaining), inputs=None, outputs=explaining, api_visibility="private", queue=False)
    for tab in tabs:
        for component in tab.inputs:
            component.input(
                _cleared(tab.results), inputs=None, outputs=tab.results, api_visibility="private", queue=False
            )


def _cleared(outputs: list):
    """An event function that empties `outputs`."""
    return lambda: [None] * len(outputs) if len(outputs) > 1 else None


def _layer_updates(owners: tuple[Plugin, ...]):
    """After a backbone change, refill every layer dropdown with that backbone's layers."""

    def update(backbone_value: str, allow_value: bool, progress=gr.Progress(track_tqdm=True)):
        try:
            backbone = handlers.load_with_progress(backbone_value, allow_value, progress)
        except gr.Error:  # no model: no layers to offer but "auto" (the run will say what is wrong)
            updates = [
                gr.update(choices=[(handlers.AUTO_LAYER, handlers.AUTO_LAYER)], value=handlers.AUTO_LAYER)
                for _ in owners
            ]
        else:
            updates = [
                gr.update(choices=handlers.layer_choices(backbone, p), value=handlers.AUTO_LAYER) for p in owners
            ]
        return updates if len(updates) > 1 else updates[0]

    return update


def plugins_report() -> str:
    """Markdown listing loaded plugins (origin, API version, cost, needs), warnings and load errors."""
    rows = ["| plugin | title | needs | output | cost | API | origin |", "|---|---|---|---|---|---|---|"]
    for plugin in registry.list_plugins():
        needs = (
            ", ".join(
                n
                for n, flag in (
                    ("target class", plugin.needs_target),
                    ("layer", plugin.needs_layer),
                    ("gradients", plugin.needs_gradients),
                )
                if flag
            )
            or "—"
        )
        output = plugin.output + (" (signed)" if plugin.signed else "")
        rows.append(
            f"| `{plugin.name}` | {plugin.title} | {needs} | {output} | {plugin.cost} | {plugin.api_version} | "
            f"{origin(plugin.source)} |"
        )
    catalog = registry.catalog()
    text = f"### Loaded plugins (plugin API {registry.API_VERSION})\n" + "\n".join(rows)
    if catalog.warnings:
        text += "\n\n### Warnings\n" + "\n".join(f"- **{origin(w.source)}**: {w.message}" for w in catalog.warnings)
    if catalog.errors:
        text += "\n\n### Plugins that failed to load\n" + "\n".join(
            f"- **{origin(error.source)}**: {error.message}" for error in catalog.errors
        )
    else:
        text += "\n\nNo plugin failed to load."
    if catalog.disabled:
        text += f"\n\nSwitched off by CNNLENS_DISABLE_PLUGINS: {', '.join(catalog.disabled)}"
    return text


def origin(source: str) -> str:
    """Where a plugin came from, in words: built in, a folder (its file name only), or a package."""
    if source.startswith("plugins/"):
        return f"built in ({source})"
    if source.startswith("entry point"):
        return f"package: {source.removeprefix('entry point ')}"
    return f"folder: {Path(source).name}"
