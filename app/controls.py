"""Controls: parameter controls whose values are checked by their `Param` (the one validation path), the typed
dropdowns, Stop, and the backbone and method lists Compare and Evaluate share.

Gradio's own slider check compares whatever arrives with its bounds, so the string 'inf' from an
API call raised a TypeError that reached the user as a generic error, and NaN slipped past. Here
every slider, checkbox and dropdown built for a plugin parameter hands its value to
`Param.coerce` (registry/methods/_params.py), which the Python API uses too.
"""

from __future__ import annotations

import base64
import io
import json
from abc import ABCMeta
from typing import Any

import gradio as gr
from gradio.context import Context
from PIL import Image

import registry
from app import handlers, uploads
from app.own_model_section import backbone_choices
from registry import Param, Plugin
from registry.imaging import MAX_PIXELS, too_large


class _Checked:
    """Mixin for a Gradio control: keep the stock front end, validate through the Param.

    No __init__ here: Gradio builds a component's config from its class's __init__ signature.
    """

    param: Param

    def get_block_name(self) -> str:
        gradio_class = next(c for c in type(self).__mro__ if c.__module__.startswith("gradio."))
        return gradio_class.__name__.lower()  # the stock component's front end

    def preprocess(self, payload: Any) -> Any:
        try:
            return self.param.coerce(payload)
        except ValueError as exc:
            raise handlers.user_error(str(exc)) from None


class Slider(_Checked, gr.Slider):
    """A number parameter."""


class Checkbox(_Checked, gr.Checkbox):
    """A true/false parameter."""


class Dropdown(_Checked, gr.Dropdown):
    """A choice parameter."""


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


class CameraFrames(ImageInput):
    """The webcam's streamed frames: they arrive as data inside the request (a data: URL), not as files on the
    server, so Gradio decodes them in memory; a frame named by a file path is checked like any upload.

    A data URL is judged before Gradio decodes it: longer than a frame within MAX_PIXELS could take (4 bytes a
    pixel, uncompressed, in base64), not an image, or declaring more than MAX_PIXELS in its header, it is refused in
    words; a small file can declare a huge picture, so the header is read (without decoding) as well as the length.
    """

    def preprocess(self, payload: Any) -> Any:
        in_request = payload is not None and not getattr(payload, "path", None)
        url = str(getattr(payload, "url", None) or "") if in_request else ""
        if url.startswith("data:"):
            refused = frame_refusal(url)
            if refused:
                raise handlers.user_error(refused)
            return gr.Image.preprocess(self, payload)
        return super().preprocess(payload)


def frame_url_limit(max_pixels: int = MAX_PIXELS) -> int:
    """The longest data URL a frame within `max_pixels` can make: uncompressed RGBA (4 bytes a pixel) in base64 (4
    characters per 3 bytes), with room for the header."""
    return 1024 + 4 * -(-max_pixels * 4 // 3)


def frame_refusal(url: str, max_pixels: int = MAX_PIXELS) -> str | None:
    """Why a webcam frame sent as a data URL is refused, in words, or None: judged on its length and its header."""
    if len(url) > frame_url_limit(max_pixels):
        return (
            f"The camera frame is {len(url) / 1e6:.1f} MB of data, more than a picture within the "
            f"{max_pixels / 1e6:g}-megapixel limit can take; send smaller frames."
        )
    try:
        with Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2], validate=False))) as picture:
            width, height = picture.size  # the header only: nothing is decoded yet
    except Image.DecompressionBombError:
        return too_large()
    except (ValueError, OSError):
        return "The camera frame could not be read as an image."
    return too_large(width, height) if width * height > max_pixels else None


def image_param(param: Param) -> ImageInput:
    """The input for a parameter of kind image (style transfer's style): a checked upload like the page's image,
    empty by default (the handler then takes the parameter's default, a bundled picture)."""
    return ImageInput(
        type="filepath",
        image_mode=None,
        label=param.display_label,
        sources=["upload", "clipboard"],
        height=200,
        elem_id=f"param-{param.name}",
        alt_text=param.help or param.display_label,
    )


def checked(control: type[_Checked], param: Param, **kwargs: Any) -> gr.components.Component:
    """A `control` (Slider, Checkbox or Dropdown) for `param`, built with Gradio's arguments.

    The Param lives on a subclass of `control` made for it, not on the instance: an event that updates the control
    (`gr.update(visible=...)`) makes Gradio rebuild it for the session from its class and constructor arguments, and
    an attribute set on the instance after construction was lost there ('Slider' object has no attribute 'param':
    Make it fail never ran once its strength slider had been hidden and shown).

    The subclass is made with ABCMeta's `__new__`, not Gradio's metaclass's: Gradio's rewrites a `.pyi` stub beside
    the module for every new component class, parsing this module's source twice, which cost 6.4 of the 14.5 s the
    page took to build (191 controls). The subclass adds no events and no `__init__`, the only things Gradio's
    metaclass adds to a class."""
    attrs = {"param": param, "__module__": control.__module__, "__qualname__": control.__qualname__}
    own = ABCMeta.__new__(type(control), control.__name__, (control,), attrs)
    return own(**kwargs)


def switch(name: str, default: bool, **kwargs: Any) -> gr.components.Component:
    """A checked Checkbox for a true / false setting: "yes" from a script is refused in words, not taken as true."""
    return checked(Checkbox, Param(name, "bool", default), value=default, **kwargs)


class OpenDropdown(gr.Dropdown):
    """A dropdown that also takes typed values (any timm name, any layer): its API schema says
    "string" instead of enumerating today's list, so `view_api()` stays short and true; the
    handler checks each value when it arrives."""

    api_type: dict[str, Any] = {"type": "string"}

    def get_block_name(self) -> str:
        return "dropdown"

    def api_info(self) -> dict[str, Any]:
        one = dict(self.api_type)
        return {"type": "array", "items": one} if self.multiselect else one


class ClassPicker(OpenDropdown):
    """A searchable list of the classes; in the API a class is a number or "index: label", not a 1,001-entry enum."""

    api_type = {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def result_picture(label: str, elem_id: str, alt_text: str, **options: Any) -> gr.Image:
    """A result picture: a PNG shown, never an input, described in words for a screen reader (`options`: Gradio's
    `buttons`, `height`, …)."""
    return gr.Image(label=label, format="png", interactive=False, elem_id=elem_id, alt_text=alt_text, **options)


STOP_CLASS = "stop-while-running"  # app/frontend.py hides these unless one of their runs is in flight


def stop_button(elem_id: str) -> gr.Button:
    """A Stop button for long runs, shown only while one runs; `stops(button, events)` wires it once the events
    exist."""
    return gr.Button("Stop", variant="stop", size="sm", elem_id=elem_id, elem_classes=[STOP_CLASS])


def stops(button: gr.Button, events: list) -> None:
    """Pressing `button` cancels `events` (the request ends and the spinner goes; the server drops the result); the
    button shows only while one of them runs, hidden again when it ends, fails or is stopped.

    All in the browser (app/frontend.py's `cnnlensRuns`): each event's own `js`, which runs as it starts, counts it
    in; its `.success` or its `.failure`, whichever follows, counts it out; Stop sets the count to zero. Not
    a second Python listener on the run's trigger: Gradio's front end runs one trigger's listeners in turn, each once
    the one before has finished, so a Stop shown that way appeared only once its run was over.
    """
    key = json.dumps(button.elem_id)
    quiet = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    button.click(  # first: Gradio finds the events to cancel by their configuration, which the `js` below changes
        None, inputs=None, outputs=None, js=f"() => {{ window.cnnlensRuns?.stop({key}); }}", cancels=events, **quiet
    )
    for event in events:
        block_fn = Context.root_block.fns[event["id"]]
        before = f"await ({block_fn.js})(...args)" if block_fn.js else "args"
        block_fn.js = f"async (...args) => {{ window.cnnlensRuns?.start({key}); return {before}; }}"
        for ended in (event.success, event.failure):  # not `.then`: Gradio 6.31 skips it after a failure
            ended(None, inputs=None, outputs=None, js=f"() => {{ window.cnnlensRuns?.end({key}); }}", **quiet)


def backbone_list(backbone: registry.Backbone, elem_id: str, info: str | None = None) -> OpenDropdown:
    """Several backbones (Compare, Evaluate): the listed ones marked "weights here" or not, any timm name typed."""
    return OpenDropdown(
        choices=backbone_choices(""),
        value=[backbone.name],
        multiselect=True,
        allow_custom_value=True,
        label="Backbones",
        elem_id=elem_id,
        info=info,
    )


class MethodNames(gr.CheckboxGroup):
    """Several methods' names: in the API a list of strings (the /methods endpoint lists them), not an enum of every
    registered method, so the API page does not grow with the registry; Gradio still refuses a name not offered."""

    def get_block_name(self) -> str:
        return "checkboxgroup"

    def api_info(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string"}}


def method_list(plugins: list[Plugin], chosen: list[str], elem_id: str, info: str | None = None) -> MethodNames:
    """Several methods, each with its cost when not light; `chosen` (names) ticked, else the first."""
    return MethodNames(
        choices=[(p.title + ("" if p.cost == "light" else f" ({p.cost})"), p.name) for p in plugins],
        value=[p.name for p in plugins if p.name in chosen] or [plugins[0].name],
        label="Methods",
        elem_id=elem_id,
        info=info,
    )
