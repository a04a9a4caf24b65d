"""The services every tab shares: the backbone (loading, its status line), the image, the class (its choices, parsing
and the note beside it) and the predictions; and turning a user's mistake into a sentence.

Every user mistake becomes a `gr.Error` with a sentence a person understands (`user_error`); an unexpected error
names no server path (`without_paths`). What a method's Run does is app/plugin_run.py.
"""

from __future__ import annotations

import re
from typing import Any

import gradio as gr
from PIL import Image

import registry
from app import own_models, uploads
from registry.analysis import LONGEST_NAME
from registry.imaging import UnreadableImage, shorten
from registry.models import find_classes, parse_class_number

PREDICTED = "predicted (top-1)"
TOP_K = 5  # predictions listed; fewer for a model with fewer classes
_PATH = re.compile(r"(?<![\w.~:/])(?:/[^\s/'\":,]+)+/([^\s/'\":,]*)")  # absolute POSIX paths


ERROR_SECONDS = 6  # a toast long enough to read a sentence, gone before it sits over the next action's result


def user_error(message: str) -> gr.Error:
    """A mistake the user can fix: shown in the UI for ERROR_SECONDS, not logged as a server traceback."""
    return gr.Error(message, print_exception=False, duration=ERROR_SECONDS)


def listed(values: list[str] | None, what: str) -> list[str]:
    """A multiselect's values, stripped; none chosen is refused in words ("Choose at least one backbone."), and so is
    a name longer than any (it would be quoted whole by the errors further on)."""
    if not values:
        raise user_error(f"Choose at least one {what}.")
    if isinstance(values, str):  # an API caller's one name, not a list of its letters
        values = [values]
    for value in values:
        if isinstance(value, str) and len(value) > LONGEST_NAME:
            raise user_error(f"{shorten(value)} is longer than any {what}'s name ({LONGEST_NAME} characters).")
    return [value.strip() if isinstance(value, str) else value for value in values]


def target_choices(labels: list[str]) -> list[str]:
    """Dropdown entries: the predicted class first, then every class as 'index: label'."""
    return [PREDICTED] + [f"{index}: {label}" for index, label in enumerate(labels)]


def parse_target(choice: Any, labels: list[str] | None = None) -> int | None:
    """'281: tabby', '281' or, given `labels`, a word only one class matches ('golden') → the class
    index; empty or 'predicted' → None. Anything else is refused with the classes it may mean."""
    if choice is None or (isinstance(choice, str) and choice.strip() in ("", PREDICTED, "predicted")):
        return None
    head = choice.split(":", 1)[0] if isinstance(choice, str) else choice
    try:
        return parse_class_number(head)
    except ValueError:
        pass
    typed_name = labels and isinstance(choice, str) and ":" not in choice  # "٣: tabby" is a broken entry, not a name
    matches = find_classes(choice, labels) if typed_name else []
    named = [index for index in matches if _exactly(str(choice), labels[index])]
    if len(matches) == 1 or len(named) == 1:
        return (named or matches)[0]
    offer = f" Did you mean {', '.join(f'{i}: {labels[i]}' for i in matches)}?" if matches else ""
    raise user_error(f"{shorten(choice)} is not a class: choose one from the list or type its number.{offer}") from None


def _exactly(query: str, label: str) -> bool:
    """Whether `query` is one of the label's names ("tabby" for "tabby, tabby cat")."""
    return query.strip().lower() in [name.strip().lower() for name in label.split(",")]


def target_note(image: str | None, backbone_name: str, allow_untrained: bool, choice: Any) -> tuple[Any, str]:
    """Settle the class box and say, next to it, how probable that class is on this image.

    A typed word only one class matches becomes that class ("golden" → "207: golden retriever").
    Returns (the box's new value or an unchanged-update, the note).
    """
    try:
        backbone = get_backbone(backbone_name, allow_untrained)
    except gr.Error:  # the line under the backbone field says why (`backbone_status`): one refusal, in one place
        return gr.update(), ""
    try:
        target = parse_target(choice, backbone.labels)
    except gr.Error as exc:
        return gr.update(), f"⚠️ {exc.message}"
    settled = (
        gr.update()
        if target is None or choice == f"{target}: {backbone.labels[target]}"
        else f"{target}: {backbone.labels[target]}"
    )
    if not image:
        return settled, ""
    if not backbone.num_classes:
        return settled, (
            f"{backbone.name} has no classifier head, so there is no class to explain: the methods "
            f"that need one say so in their tabs; Feature maps still work."
        )
    try:
        probabilities = backbone.probabilities(backbone.prepare(open_image(image, backbone))[0])
    except gr.Error as exc:
        return settled, f"⚠️ {exc.message}"
    top, label, p = backbone.ranked(probabilities, 1)[0]
    if target is None or target == top:
        return settled, f"The maps explain the top prediction, **{top}: {label}** (p = {p:.3g})."
    rank = int((probabilities > probabilities[target]).sum()) + 1
    return settled, (
        f"**{target}: {backbone.labels[target]}** has p = {float(probabilities[target]):.3g} on this "
        f"image (rank {rank} of {len(probabilities)}); the model predicts {top}: {label} (p = {p:.3g})."
    )


def open_image(path: str | None, backbone: registry.Backbone | None = None) -> Image.Image:
    """Decode an upload (already checked by the input component), reduced to what `backbone` needs."""
    if not path:
        raise user_error("Upload an image first (or click one of the examples).")
    try:
        return registry.load_image(path, backbone.decode_side if backbone else None)
    except UnreadableImage:  # the same reply as a refused or missing file (app/uploads.py)
        raise user_error(uploads.REFUSED) from None
    except registry.ImageError as exc:
        raise user_error(str(exc)) from None


def get_backbone(name: str, allow_random: bool) -> registry.Backbone:
    """Load (or reuse) the backbone; random weights only when the user ticked the box. An uploaded model is
    named by its session's token; a folder on the server only when the operator listed it (app/own_models.py)."""
    try:
        if own_models.is_upload(name):
            return own_models.load(name)
        own_models.check_named(name)
        return registry.load_backbone(name)
    except own_models.OwnModelError as exc:
        raise user_error(str(exc)) from None
    except registry.UnknownBackboneError as exc:
        raise user_error(str(exc)) from None
    except registry.WeightsUnavailableError as exc:
        own_config = str(name).strip().startswith(("hf-hub:", "local-dir:"))  # its architecture is in its config
        if own_config or not allow_random:
            raise user_error(refusal(exc, untrained=not own_config)) from None
    except ValueError as exc:  # e.g. an impossible device in CNNLENS_DEVICE
        raise user_error(str(exc)) from None
    return registry.load_backbone(name, weights=registry.RANDOM)


VISITOR_WAYS = {  # what a visitor of the page can do about a missing model (registry's REMEDIES are a script's)
    "file": "upload its weights as a .safetensors file under **Your model**, naming its architecture",
    "folder": "upload its files (the .safetensors checkpoint with its config.json) under **Your model**",
    "shipped": "choose a backbone whose weights ship with CNN Lens (tf_efficientnet_lite0/1/2)",
    "random": "tick 'Allow untrained weights' to look at the structure only",
}


def refusal(exc: registry.WeightsUnavailableError, untrained: bool = True) -> str:
    """Why a model cannot load, then only the ways in this app accepts: an upload of .safetensors (never a .pth, which
    uploads refuse; never a path or `local-dir:`, which a visitor may not name), a bundled backbone, untrained weights
    (`untrained`: where the name is a timm architecture); the operator's model folders where a download is missing.
    "Connect to the internet" is no advice to someone whose browser is online while the server is not."""
    keys = [key for key in exc.remedies if key in VISITOR_WAYS]
    if untrained and "random" not in keys:
        keys.append("random")
    ways = [VISITOR_WAYS[key] for key in dict.fromkeys(keys)]
    if not ways:
        return str(exc.reason)
    said = ways[0] if len(ways) == 1 else f"{', '.join(ways[:-1])}, or {ways[-1]}"
    operator = (
        " Whoever runs this app can also put a downloaded copy in a folder listed in CNNLENS_MODEL_DIRS."
        if "folder" in keys
        else ""
    )
    return f"{exc.reason} You can {said}.{operator}"


def class_choices(name: str, allow_untrained: bool) -> dict:
    """The class picker for the chosen backbone: its own classes, the prediction first."""
    try:
        backbone = get_backbone(name, allow_untrained)
    except gr.Error:
        return gr.update()
    return gr.update(choices=target_choices(backbone.labels), value=PREDICTED)


def backbone_status(name: str, allow_untrained: bool) -> str:
    """The line under the backbone field: what is loaded, or why it could not be (errors beside
    the control they concern, not in a toast over it)."""
    try:
        backbone = get_backbone(name, allow_untrained)
    except gr.Error as exc:
        return f"⚠️ {exc.message}"
    millions = sum(p.numel() for p in backbone.model.parameters()) / 1e6
    weights = (
        "**untrained** (random weights: structure only)"
        if backbone.untrained
        else f"weights: {backbone.weights_source}"
    )
    return (
        f"**{backbone.name}** · {millions:.1f} M parameters · {weights} · "
        f"{len(backbone.layers)} layers · {backbone.device}"
    )


def predict(
    image: str | None, backbone: str, allow_untrained: bool, progress: gr.Progress = gr.Progress(track_tqdm=True)
) -> dict[str, float] | None:
    """Top-5 classes for `/predict` (empty when there is no image yet, or the model has no classifier head); a
    backbone that cannot load is an error with its reason."""
    if not image:
        return None
    return _top_predictions(image, load_with_progress(backbone, allow_untrained, progress))


def shown_predictions(
    image: str | None, backbone: str, allow_untrained: bool, progress: gr.Progress = gr.Progress(track_tqdm=True)
) -> dict[str, float] | None:
    """Top-5 classes for the predictions panel: empty while the chosen backbone cannot load, since the line under
    the backbone field says why (`backbone_status`): one refusal in one place, not a toast and a red badge too."""
    if not image:
        return None
    try:
        model = load_with_progress(backbone, allow_untrained, progress)
    except gr.Error:
        return None
    return _top_predictions(image, model)


def _top_predictions(image: str, model: registry.Backbone) -> dict[str, float]:
    picture = open_image(image, model)
    return {f"{index}: {label}": probability for index, label, probability in model.predict(picture, k=top_k(model))}


def predictions_header(backbone_name: str, allow_untrained: bool) -> dict:
    """The predictions panel's header names the model that made them, and says when it is untrained.

    A separate event from `predict`: a header changed in the same update would leak into the
    endpoint's result (the label's "label" field) for API callers.
    """
    try:
        backbone = get_backbone(backbone_name, allow_untrained)
    except gr.Error:
        return gr.update(label="Top predictions")
    if not backbone.num_classes:
        return gr.update(label=f"No predictions: {backbone.name} has no classifier head (its output is features)")
    untrained = " (UNTRAINED)" if backbone.untrained else ""
    shown = top_k(backbone)
    heading = "The prediction" if shown == 1 else f"Top-{shown} predictions"
    return gr.update(label=f"{heading} of {backbone.name}{untrained} on {backbone.device}")


def top_k(backbone: registry.Backbone) -> int:
    """How many predictions the panel lists: five, or all the classes of a model with fewer."""
    return min(TOP_K, backbone.num_classes)


def load_with_progress(name: str, allow_random: bool, progress: gr.Progress | None) -> registry.Backbone:
    """`get_backbone`, saying "Loading <name>…" while it runs, unless it is already in memory (a Hub download
    reports its bytes too, when the event's gr.Progress tracks tqdm: huggingface_hub draws its bars with tqdm)."""
    upload = own_models.is_upload(name)
    if progress is not None and (upload or str(name).strip() not in registry.cached_backbones()):  # true words only
        progress(0.0, desc="Loading your model…" if upload else f"Loading {str(name).strip()}…")
    return get_backbone(name, allow_random)


def without_paths(text: str) -> str:
    """An unexpected error's message with server paths cut to their last part ('…/model.py')."""
    return _PATH.sub(lambda match: f"…/{match.group(1)}", text)
