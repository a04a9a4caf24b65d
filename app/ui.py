"""The Gradio page: the image, backbone, class and predictions above the tabs, built once (app/page.py's `Page`), then
every tab of app/tabs.py, each built by its own module. No tab and no plugin is named here."""

from __future__ import annotations

import logging

import gradio as gr

import registry
from app import api_result, controls, handlers, layer_lists, script_api, support, tabs, uploads
from app.controls import ImageInput
from app.own_model_section import backbone_choices, build_own_model_section, forget_session
from app.page import Page, TabParts, joined
from app.requests import gpu
from app.stale import clear_stale
from registry import Param, settings
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


class LensBlocks(script_api.ScriptMisuse, uploads.FileRefusals, gr.Blocks):
    """gr.Blocks whose API page (`view_api()`, "Use via API") lists the main endpoints first: `/predict`, the
    methods' three (`/methods`, `/explain`, `/trust`), `/compare`; then the rest (uploads, Learn, Evaluate). The
    tabs' own events are callable but off the page (app/script_api.py). A script's misuse (a file where none is
    taken, a path string for a file) and Gradio's own refusals of a file reference answer in sentences."""

    lead: tuple[str, ...] = ()

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        info = super().get_api_info(all_endpoints=all_endpoints, page=page)
        named = info["named_endpoints"]
        lead = [f"/{name}" for name in self.lead]

        def rank(item: tuple[int, str]) -> tuple[int, int]:
            position, name = item
            return (0, lead.index(name)) if name in lead else (1, position)

        info["named_endpoints"] = {name: named[name] for _, name in sorted(enumerate(named), key=rank)}
        return info


def build_app(default_backbone: str | None = None) -> gr.Blocks:
    """Build the Blocks; the default backbone is loaded now so its layers fill the dropdowns."""
    default_name, backbone = _default_backbone(default_backbone)
    with LensBlocks(title="CNN Lens") as demo:  # result files end as app/janitor.py says (registry/storage)
        gr.Markdown(INTRO, elem_id="intro")
        page, backbone_status, target_note = _header(default_name, backbone)
        with gr.Tabs(overflow_behavior="wrap", elem_id="tabs"):  # wrap: every tab in sight, on a phone too
            parts = joined(tab.build(page) for tab in tabs.TABS)
        script_api.build(page)  # /methods, /explain, /trust: one screen of API whatever the registry holds
        _wire_header(demo, page, backbone_status, target_note)
        _wire_tabs(page, parts)
    demo.lead = ("predict", *script_api.API_NAMES, "compare")
    guarded = (ImageInput, uploads.CheckedFile)
    if unguarded := uploads.unguarded_file_inputs(demo, guarded):  # no tab may open a hole
        raise RuntimeError(f"file inputs must be ImageInput or uploads.CheckedFile (checked uploads): {unguarded}")
    return demo


def _default_backbone(default_backbone: str | None) -> tuple[str, registry.Backbone]:
    """The backbone the page starts with, and the name its field shows; the registry's default when it cannot load."""
    default_name = default_backbone or settings.value("CNNLENS_BACKBONE") or registry.DEFAULT_BACKBONE
    try:
        return default_name, registry.load_backbone(default_name, device=build_device())
    except (ValueError, RuntimeError) as exc:  # e.g. a Hub model asked for while offline
        log.warning("backbone %s unavailable (%s); starting with %s", default_name, exc, registry.DEFAULT_BACKBONE)
        return registry.DEFAULT_BACKBONE, registry.load_backbone(registry.DEFAULT_BACKBONE, device=build_device())


def _header(default_name: str, backbone: registry.Backbone) -> tuple[Page, gr.Markdown, gr.Markdown]:
    """Lay out what sits above the tabs: the image and its samples; the backbone, its status line and the section for
    a model of one's own; the weights switch; the class and its note; the predictions and the verdict. Returns the
    page, the backbone's status line and the class's note."""
    examples = [str(path) for path in sample_paths().values()]
    with gr.Row():
        with gr.Column(scale=5):
            image = ImageInput(
                type="filepath",
                image_mode=None,
                label="Image",
                sources=["upload", "clipboard"],
                height=320,
                elem_id="input-image",
                alt_text="The image the model looks at",
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
                    "If no pretrained weights can be found, use random ones (structure only; every output is marked)."
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
            gr.Markdown(
                "Click a prediction (or Tab to it and press Enter) to make it the target class.", elem_classes="hint"
            )
            verdict = gr.Markdown(elem_id="verdict")
    arrivals = image_arrivals(image, samples)
    page = Page(backbone, image, arrivals, backbone_name, allow_random, target, predictions, verdict)
    return page, backbone_status, target_note


def _wire_header(demo: gr.Blocks, page: Page, backbone_status: gr.Markdown, target_note: gr.Markdown) -> None:
    """The events of what sits above the tabs: the predictions, the class, the backbone's status line."""
    predictions, target = page.predictions, page.target
    predictions.select(_choose_target, inputs=None, outputs=target, api_visibility="private", queue=False)
    shared = [page.image, page.backbone_name, page.allow_random]
    # /predict for scripts (an unloadable backbone is its error); the page's own copies leave that to the
    # line under the backbone field. The button is never shown: it only carries the endpoint.
    gr.Button(visible=False).click(gpu(handlers.predict), inputs=shared, outputs=predictions, api_name="predict")
    for trigger in page.arrivals:
        trigger(
            gpu(handlers.shown_predictions),
            inputs=shared,
            outputs=predictions,
            show_progress="full",
            api_visibility="private",
        )
    for trigger in page.arrivals:
        trigger(lambda: handlers.PREDICTED, inputs=None, outputs=target, api_visibility="private", queue=False)
    chosen = (page.backbone_name.change, page.allow_random.change)
    for trigger in chosen:  # no old model's top-5 while the new one loads
        trigger(lambda: None, inputs=None, outputs=predictions, api_visibility="private", queue=False).then(
            gpu(handlers.shown_predictions),
            inputs=shared,
            outputs=predictions,
            api_visibility="private",
            show_progress="full",
        )
    for handler, output, shown, triggers in (  # what the chosen model decides, each beside its control
        (handlers.predictions_header, predictions, "hidden", (demo.load, *chosen)),  # the header names it
        (handlers.class_choices, target, "hidden", chosen),  # the class list is the model's own
        (handlers.backbone_status, backbone_status, "minimal", chosen),
    ):
        for trigger in triggers:
            trigger(
                gpu(handler),
                inputs=[page.backbone_name, page.allow_random],
                outputs=output,
                api_visibility="private",
                show_progress=shown,
            )
    demo.unload(forget_session)  # a closed page's uploads go with it
    for trigger in (target.change, predictions.change):  # the class's probability, next to the picker
        trigger(
            gpu(handlers.target_note),
            inputs=[*shared, target],
            outputs=[target, target_note],
            api_visibility="private",
            show_progress="hidden",
        )


def _wire_tabs(page: Page, parts: TabParts) -> None:
    """What the page does for every tab together: after a backbone change, refill the layer lists and the lines that
    say whether a method applies; empty every stale result (app/stale.py)."""
    if parts.layer_lists:  # the layer lists always list the layers of the backbone actually loaded
        owners, lists = zip(*parts.layer_lists)
        for trigger in (page.backbone_name.change, page.allow_random.change):
            trigger(
                gpu(layer_lists.layer_updates(owners)),
                inputs=[page.backbone_name, page.allow_random],
                outputs=list(lists),
                api_visibility="private",
            )
    if parts.support_lines:
        plugins, lines = zip(*parts.support_lines)
        support.wire(plugins, lines, page.backbone_name, page.allow_random, gpu)
    clear_stale(page, parts)


def image_arrivals(image: gr.Image, samples: gr.Examples | None) -> list:
    """The events that bring a new image: the user's upload, paste or clear (`input`), then a sample click.

    Nothing listens to the image's `change`. In Gradio 6.31, once an event has written the image (a
    sample click writes it) and the user then uploads a photo, the image fires `change` again each time
    its listeners' updates re-render the page; with the dozen listeners the tabs need, that never settled
    (an endless loop of requests). A user's own action and the sample click's event each fire once.
    """
    return [image.input] + ([samples.load_input_event.then] if samples is not None else [])


def _choose_target(event: gr.SelectData) -> str:
    """A click on a prediction ("285: Egyptian cat") makes that class the target."""
    return str(event.value)
