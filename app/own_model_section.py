"""The "Your model" section under the backbone field: a Hugging Face Hub id, or an upload of one's own checkpoint.

Either way the result is a value of the backbone field, so every tab, Compare, the trust checks and Learn
follow it through the events they already have. An upload's value is a token only its session's list holds
(app/own_models.py); the `/upload_model` endpoint does the same for API clients.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

import registry
from app import handlers, own_models, uploads

FROM_FILES = (
    "**From files:** a `.safetensors` checkpoint of a timm architecture, with any number of classes (1 for a binary "
    "model) and 1 or 3 input channels, plus the `config.json` timm's `save_for_hf` writes or a labels file (one class "
    "name per line, or a JSON list or `{index: name}` map). Uploads are never unpickled (`.pth` is refused), stay "
    "private to this page and go when you close it."
)


def help_text(hub_online: bool) -> str:
    """The section's help: the Hub offered as a way in only where this server reaches it (else only its cache)."""
    hub = (
        "**From the Hub:** a timm model's id (`org/name`), downloaded with its classes and preprocessing."
        if hub_online
        else "**From the Hub:** this server cannot reach the Hugging Face Hub now, so only a Hub model already "
        "downloaded here loads by its id (`org/name`)."
    )
    return f"Bring a classifier of your own. {hub} {FROM_FILES}"


def build_own_model_section(backbone_name: gr.Dropdown, gpu) -> None:
    """Lay out the section (inside the current column) and wire it to the backbone field; `gpu` wraps the event
    that loads the model (ZeroGPU, spaces_config/zerogpu.py)."""
    with gr.Accordion("Your model", open=False, elem_id="own-model"):
        gr.Markdown(help_text(registry.models.hub_reachable()), elem_classes="hint")
        with gr.Row():
            hub_id = gr.Textbox(
                label="Hugging Face Hub model", placeholder="org/name", elem_id="hub-id", scale=3, max_lines=1
            )
            hub_load = gr.Button("Load from the Hub", elem_id="hub-load", scale=1)
        files = uploads.CheckedFile(
            label="Or upload a checkpoint (.safetensors) with its config.json or labels file",
            file_count="multiple",
            file_types=[".safetensors", ".json", ".txt", ".pth", ".pt", ".bin", ".ckpt"],  # a .pth is refused in words
            elem_id="model-files",
            height=120,
        )
        architecture = gr.Textbox(
            label="Architecture (a timm name; not needed with a config.json)",
            placeholder="e.g. resnet18",
            elem_id="model-architecture",
            max_lines=1,
        )
        upload_load = gr.Button("Load my model", variant="primary", elem_id="model-load")
        status = gr.Markdown(elem_id="own-status", label="note")
        chosen = gr.Textbox(visible=False, label="name")  # the /upload_model endpoint's first output: a plain name
    upload_load.click(
        gpu(upload_model), inputs=[files, architecture], outputs=[chosen, status], api_name="upload_model"
    ).then(choose_upload, inputs=[chosen], outputs=backbone_name, api_visibility="private", queue=False)
    for trigger in (hub_load.click, hub_id.submit):  # the field's own events load it; then the note says how it went
        trigger(hub_model, inputs=[hub_id], outputs=[backbone_name, status], api_visibility="private").then(
            gpu(hub_outcome), inputs=[backbone_name], outputs=status, api_visibility="private", show_progress="hidden"
        )


def upload_model(files: list[str] | None, architecture: str | None, request: gr.Request) -> tuple[str, str]:
    """The /upload_model endpoint: check and keep the files for this session and load them. Returns (the model's
    name, which every other endpoint takes as its backbone; a sentence on what was loaded)."""
    session = _session(request)
    try:
        model = own_models.add_upload(files or [], architecture, session)
    except own_models.OwnModelError as exc:
        raise handlers.user_error(str(exc)) from None
    name = own_models.PREFIX + model.token
    try:
        backbone = handlers.get_backbone(name, False)  # loaded now: a checkpoint that does not fit is said here
    except gr.Error:
        own_models.forget(model.token)
        raise
    return name, loaded_note(backbone)


def choose_upload(name: str | None, request: gr.Request) -> Any:
    """After an upload, the backbone field offers this session's models and has the new one chosen."""
    if not name:
        return gr.update()
    return gr.update(choices=backbone_choices(_session(request)), value=name)


def hub_model(repo: str | None) -> tuple[Any, str]:
    """A Hub id becomes the backbone field's value (`hf-hub:org/name`); the field's own events load it."""
    name = f"hf-hub:{(repo or '').strip().removeprefix('hf-hub:')}"
    try:
        registry.validate_name(name)
    except registry.UnknownBackboneError as exc:
        raise handlers.user_error(str(exc)) from None
    return gr.update(value=name), f"Loading **{name}** (a download shows its progress over the predictions)…"


def hub_outcome(name: str | None) -> str:
    """After a Hub id was put in the backbone field: what was loaded, or nothing when it failed (the line under the
    backbone field says why, once), so "Loading …" never stays after a failure."""
    if not name or not str(name).startswith("hf-hub:"):
        return ""
    try:
        backbone = handlers.get_backbone(name, False)  # waits for the field's own load of the same name
    except gr.Error:
        return ""
    return loaded_note(backbone)


def backbone_choices(session: str) -> list[Any]:
    """The backbone list of one session: the operator's models, the shortlist (each marked with whether its weights
    are on this machine or need a download), then this session's uploads."""
    listed = list(dict.fromkeys([*own_models.configured_backbones(), *registry.list_backbones()]))
    return [(_marked(name), name) for name in listed] + own_models.choices_for(session)


def _marked(name: str) -> str:
    if name.startswith(("hf-hub:", "local-dir:")):
        return name.rsplit("/", 1)[-1] if name.startswith("local-dir:") else name
    return f"{name} · {'weights here' if registry.models.weights_here(name) else 'needs a download'}"


def loaded_note(backbone: registry.Backbone) -> str:
    """What a person should know about the model they brought: classes, input, head."""
    classes = ", ".join(backbone.labels[:6]) + (" …" if backbone.num_classes > 6 else "")
    channels = "greyscale (1 channel)" if backbone.channels == 1 else "colour"
    config = backbone.data_config
    _, height, width = config["input_size"]
    return (
        f"Loaded **{backbone.name}**: {backbone.num_classes} classes ({classes}); {channels} input of "
        f"{width}×{height}, mean {_numbers(config['mean'])}, std {_numbers(config['std'])}; {backbone.head_note}."
    )


def forget_session(request: gr.Request) -> None:
    """When a page closes, its uploads go (files and tokens)."""
    own_models.forget_session(_session(request))


def _session(request: gr.Request | None) -> str:
    return str(getattr(request, "session_hash", None) or "no-session")


def _numbers(values: Any) -> str:
    return "(" + ", ".join(f"{float(v):.3g}" for v in values) + ")"
