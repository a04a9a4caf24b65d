"""The Learn tab: the teaching guide's lesson as numbered steps on the current image and backbone,
then "Make it fail". Each step is a few sentences, one button, its result and a computed sentence
saying what to notice in *this* result (registry/teaching/lesson.py, filters.py and fail.py compute them;
this module only lays them out and turns errors into messages).

Also here: the right / wrong mark under the predictions for the bundled samples (`verdict_text`).
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

import registry
from app import controls, handlers, results
from app.page import Page, Results, TabParts
from app.requests import gpu, lane
from registry import Param
from registry.imaging import samples
from registry.teaching import fail, filters, lesson

log = logging.getLogger("cnnlens")
DEFAULT_CHANGE = "upside_down"
STRENGTH = Param("strength", "float", 0.5, label="Strength", minimum=0.1, maximum=1.0, step=0.05)


INTRO = """## Learn: what a CNN sees, step by step
Run the steps in order on the image and backbone chosen above. Each result comes with a sentence
computed from it: what to notice in *this* picture, on *this* network."""

STEPS = (
    (
        "The network",
        "A CNN has dozens or hundreds of layers, but they come in a few **stages**. Each stage shrinks "
        "the picture and adds channels: it keeps less of *where* and more of *what*. This table is built from the "
        "backbone chosen above.",
    ),
    (
        "First layer",
        "The first convolution reads the pixels directly. Each of its filters is a tiny colour picture "
        "(here drawn with zero as grey): the pattern it looks for. Below, the most active filters sit next to their "
        "**feature maps** on your image, bright where the pattern occurs; the full set of filters follows.",
    ),
    (
        "Layer by layer",
        "Early layers respond to edges and colours, middle layers to textures and parts, the final "
        "layers to whole objects. These are the strongest feature maps at an early, a middle and the final stage; "
        "below them, what the strongest channels of each stage look for: the picture optimised to excite each one "
        "most, beside the real patch that does (the first run optimises for a minute; later looks are instant).",
    ),
    (
        "Grad-CAM for a class",
        "Grad-CAM shows where the evidence for one class lies: it weights the final layer's "
        "channels by how much the class score depends on each. It runs for the predicted class and for the class "
        "chosen in **Target class** above (click a prediction, or Tab to it and press Enter, to choose one; without a "
        "choice, the runner-up).",
    ),
    (
        "Correct vs incorrect",
        "Models are often wrong. This step takes a labelled sample the backbone gets wrong "
        "(your image, if it is one of them) and shows Grad-CAM for the class it chose beside the true class.",
    ),
)
FAIL_INTRO = """### Make it fail
Change the picture in a controlled way and watch the top-5 and the Grad-CAM map move. *Grey out the Grad-CAM
region* also greys out random squares of the same size: if covering the map's region hurts the prediction
more, the map points at what the model really uses."""
NO_IMAGE = "Upload an image first (or click one of the examples)."
FIND_ONE = "one it gets wrong (found for you)"
CHANNELS_COMING = "What the strongest channels look for follows below (the first run optimises for a minute)."


def build(page: Page) -> TabParts:
    """Lay out the tab, wire the right / wrong mark into the page's verdict; return each step's results and what they
    read (a new image, backbone or weights choice empties them all; the class, step 4's; the change, Make it fail's)."""
    with gr.Tab("Learn", id="learn", elem_id="tab-learn"):
        gr.Markdown(INTRO)
        run_all = gr.Button("Run all steps", variant="primary", elem_id="learn-run-all", size="sm")
        sections = [_step_section(page, number, title, text) for number, (title, text) in enumerate(STEPS, start=1)]
        failing = _fail_section(page)
    _run_in_turn(run_all, [wiring for _results, wiring in sections])
    steps = [results for results, _wiring in sections]
    page.predictions.change(
        gpu(verdict_text),  # it may load the model, to know whether its classes are ImageNet's
        inputs=[page.image, page.predictions, page.backbone_name, page.allow_random],
        outputs=page.verdict,
        api_visibility="private",
        queue=False,
    )
    return TabParts(results=(*steps, failing))


def _step_section(page: Page, number: int, title: str, text: str) -> tuple[Results, list[dict[str, Any]]]:
    """One numbered step: its text, its button (an endpoint), its result and what to notice. Returns its results and
    its events' wiring (fn, inputs, outputs, heavy), which "Run all steps" chains in turn."""
    gr.Markdown(f"### {number}. {title}\n{text}")
    chooser = None
    if number == 5:
        chooser = gr.Dropdown(
            choices=[
                (FIND_ONE, ""),
                *[(f"{name} ({samples.labelled_samples()[name].file})", name) for name in lesson.wrong_choices()],
            ],
            value="",
            label="Sample",
            elem_id="learn-sample-5",
            info="A labelled sample the backbone gets wrong; left on the first choice, the lesson finds one.",
        )
    run = gr.Button(f"Run step {number}: {title}", elem_id=f"learn-run-{number}", size="sm")
    if number == 1:
        shown = [gr.Markdown(elem_id="learn-result-1", label="stages")]
    else:
        shown = [_picture(title, f"learn-result-{number}", buttons=["download", "fullscreen"])]
        if number == 3:
            shown.append(
                _picture("What the strongest channels look for", "learn-channels", buttons=["download", "fullscreen"])
            )
        if number == 2:
            shown.append(_picture("Every filter of the first convolution", "learn-filters", height=160))
    shown.append(gr.Markdown(elem_id=f"learn-note-{number}", label="notice"))  # labels name API outputs
    inputs = {
        1: [page.backbone_name, page.allow_random],
        4: [page.image, page.backbone_name, page.allow_random, page.target],
        5: [page.image, page.backbone_name, page.allow_random, chooser],
    }.get(number, [page.image, page.backbone_name, page.allow_random])
    heavy = number in HEAVY_STEPS
    wiring = [
        {"fn": HANDLERS[number], "inputs": inputs, "outputs": shown, "heavy": heavy, "api_name": API_NAMES[number]}
    ]
    if number == 3:  # the feature maps are instant: shown at once, the channel pictures (a minute cold) after
        wiring.insert(0, {"fn": run_layer_maps, "inputs": inputs, "outputs": shown, "heavy": False, "api_name": None})
    _chain(run.click, wiring)
    return Results(shown=tuple(shown), reads=(page.image, *inputs)), wiring  # a new image starts afresh


def _chain(trigger, wiring: list[dict[str, Any]]):
    """The events of `wiring` one after the other from `trigger`, each only if the one before succeeded; the last
    dependency, for the next to follow."""
    event = None
    for spec in wiring:
        listen = trigger if event is None else event.success
        named = {"api_name": spec["api_name"]} if spec["api_name"] else {"api_visibility": "private"}
        event = listen(
            gpu(spec["fn"], heavy=spec["heavy"]),
            inputs=spec["inputs"],
            outputs=spec["outputs"],
            show_progress_on=spec.get("progress", spec["outputs"][0]),  # one progress place per event
            **named,
            **lane(spec["heavy"]),
        )
    return event


def _run_in_turn(button: gr.Button, steps: list[list[dict[str, Any]]]) -> None:
    """ "Run all steps": every step's events in order, each after the one before succeeded (private: each step is
    its own endpoint already)."""
    _chain(button.click, [{**spec, "api_name": None} for wiring in steps for spec in wiring])


def _fail_section(page: Page) -> Results:
    """Make it fail: the change and its strength, the before / after figure, both top-5 lists, what moved."""
    gr.Markdown(FAIL_INTRO)
    with gr.Row():
        change = gr.Radio(
            choices=[(spec.title, name) for name, spec in fail.CHANGES.items()],
            value=DEFAULT_CHANGE,
            label="Change",
            elem_id="learn-change",
        )
        strength = controls.checked(  # through its Param, so an API caller's "inf" is a sentence, not a TypeError
            controls.Slider,
            STRENGTH,
            minimum=STRENGTH.minimum,
            maximum=STRENGTH.maximum,
            value=STRENGTH.default,
            step=STRENGTH.step,
            label=STRENGTH.label,
            info="Rotation up to 180°, crop down to a quarter, blur up to 8 px, noise up to 80 grey levels.",
            visible=fail.CHANGES[DEFAULT_CHANGE].graded,
            elem_id="learn-strength",
        )
    change.change(  # the strength only where it changes something: a flip is a flip
        lambda chosen: gr.update(visible=chosen in fail.CHANGES and fail.CHANGES[chosen].graded),
        inputs=change,
        outputs=strength,
        api_visibility="private",
        queue=False,
        show_progress="hidden",
    )
    run = gr.Button("Make it fail", variant="primary", elem_id="learn-run-fail")
    figure = _picture("Before and after", "learn-result-fail")
    table = gr.Markdown(elem_id="learn-top5-fail", label="top5")
    note = gr.Markdown(elem_id="learn-note-fail", label="notice")
    inputs = [page.image, page.backbone_name, page.allow_random, change, strength]
    run.click(
        gpu(run_fail),
        inputs=inputs,
        outputs=[figure, table, note],
        show_progress_on=figure,
        api_name="make_it_fail",
        **lane(False),
    )
    return Results(shown=(figure, table, note), reads=tuple(inputs))


# What each picture shows, for a screen reader (and the name of the button Gradio wraps a picture in); the
# sentence under each says what to notice in this one.
ALT_TEXT = {
    "learn-result-2": "The most active filters of the first convolution, each beside its feature map on the image "
    "(each map on its own range, with a colour bar below)",
    "learn-filters": "Every filter of the first convolution as a small colour patch, zero drawn as grey",
    "learn-result-3": "Feature maps of an early, a middle and the final stage, side by side",
    "learn-channels": "For the strongest channels of each stage, the picture optimised to excite each one, beside "
    "the real image patch that excites it most",
    "learn-result-4": "Grad-CAM for the predicted class and for the chosen class, side by side, on one colour scale "
    "shown by the bar below",
    "learn-result-5": "Grad-CAM for a sample's predicted class and for its true class, side by side, on one colour "
    "scale shown by the bar below",
    "learn-result-fail": "The picture before and after the change, each followed by its Grad-CAM map with its colour "
    "bar",
}


def _picture(label: str, elem_id: str, **options: Any) -> gr.Image:
    """A result picture of a step: shown, never an input, described in words (ALT_TEXT)."""
    return controls.result_picture(label, elem_id, ALT_TEXT[elem_id], **options)


def verdict_text(
    image: str | None, predictions: Any, backbone_name: str | None = None, allow_untrained: bool = False
) -> str:
    """The right / wrong mark for a bundled sample's top-1 ("" for any other image, or no prediction yet). The
    samples are labelled with ImageNet's classes: for a model with classes of its own, it says why there is none."""
    sample = samples.identify(image)
    top = _top_key(predictions)
    if sample is None or top is None:
        return ""
    if backbone_name:
        try:
            backbone = handlers.get_backbone(backbone_name, allow_untrained)
        except gr.Error:
            return ""
        if not backbone.imagenet:
            return (
                f"No right / wrong mark: {sample.path.name} is labelled with ImageNet's classes, and "
                f"{backbone.name} has its own {backbone.num_classes}."
            )
    index, _, label = top.partition(":")
    try:
        predicted = int(index)
    except ValueError:
        return ""
    return samples.judge(sample, predicted).sentence(label.strip())


def _top_key(predictions: Any) -> str | None:
    """The top-1 key ("282: tiger cat") of a gr.Label value, whichever shape Gradio hands over
    (a {label: p} dict, Label's {"label", "confidences"} payload, or an update carrying either)."""
    if isinstance(predictions, dict) and predictions.get("__type__") == "update":
        predictions = predictions.get("value")
    if isinstance(predictions, dict):
        if "confidences" in predictions or "label" in predictions:
            return predictions.get("label")
        return max(predictions, key=predictions.get) if predictions else None
    return predictions if isinstance(predictions, str) else None


def run_network(backbone: str, allow_untrained: bool) -> tuple[str, str]:
    """Step 1: the stages table and what to notice."""
    backbone = handlers.get_backbone(backbone, allow_untrained)
    rows = lesson.network_stages(backbone)
    return lesson.stages_markdown(rows), _notice(lesson.stages_sentence(backbone, rows))


def run_first_layer(image: str | None, backbone: str, allow_untrained: bool) -> tuple[str, str, str]:
    """Step 2: filters beside their feature maps, every filter, what to notice."""
    backbone, picture = _inputs(image, backbone, allow_untrained)
    result = _computed("First layer", backbone, lambda: filters.first_layer(backbone, picture))
    saved = results.save_run("learn_first_layer", {"filters_and_maps": result.pairs, "filters": result.bank}, {})
    return saved["filters_and_maps"], saved["filters"], _notice(result.sentence)


def run_layer_maps(image: str | None, backbone_name: str, allow_untrained: bool) -> tuple[str, Any, str]:
    """Step 3's first half: the early, middle and final feature maps at once (the channel pictures follow)."""
    backbone, picture = _inputs(image, backbone_name, allow_untrained)
    maps = _computed("Layer by layer", backbone, lambda: lesson.layer_by_layer(backbone, picture))
    saved = results.save_run("learn", {"maps": maps.picture}, {})
    return saved["maps"], None, _notice(f"{maps.sentence} {CHANNELS_COMING}")


def run_layers(
    image: str | None, backbone: str, allow_untrained: bool, progress: gr.Progress = gr.Progress()
) -> tuple[str, str, str]:
    """Step 3: early, middle and final feature maps, then what their strongest channels look for."""
    backbone, picture = _inputs(image, backbone, allow_untrained)
    maps = _computed("Layer by layer", backbone, lambda: lesson.layer_by_layer(backbone, picture))
    channels = _computed(
        "Layer by layer",
        backbone,
        lambda: lesson.channel_pictures(backbone, picture, progress=lambda f, words: progress(f, desc=words)),
    )
    saved = results.save_run("learn", {"maps": maps.picture, "channels": channels.picture}, {})
    return saved["maps"], saved["channels"], _notice(f"{maps.sentence} {channels.sentence}")


def run_classes(image: str | None, backbone: str, allow_untrained: bool, target: Any) -> tuple[str, str]:
    """Step 4: Grad-CAM for the predicted class and the chosen one."""
    backbone, picture = _inputs(image, backbone, allow_untrained)
    picked = handlers.parse_target(target, backbone.labels)  # a number, "281: tabby", or a name only one class has
    return _step(_computed("Grad-CAM for a class", backbone, lambda: lesson.class_evidence(backbone, picture, picked)))


def run_mistake(image: str | None, backbone: str, allow_untrained: bool, sample: str | None = "") -> tuple[str, str]:
    """Step 5: the chosen sample (a stem from `lesson.wrong_choices()`), else one the model gets wrong (the image
    itself when it is a wrong sample)."""
    backbone = handlers.get_backbone(backbone, allow_untrained)
    chosen = (sample or "").strip() or None
    return _step(_computed("Correct vs incorrect", backbone, lambda: lesson.mistake(backbone, image, chosen)))


def run_fail(
    image: str | None, backbone: str, allow_untrained: bool, change: str, strength: float
) -> tuple[str, str, str]:
    """Make it fail: the before / after figure, both top-5 lists, what moved."""
    backbone, picture = _inputs(image, backbone, allow_untrained)
    amount = float(strength)  # checked by its control (STRENGTH)
    result = _computed("Make it fail", backbone, lambda: fail.make_it_fail(backbone, picture, change, amount))
    return (
        results.save_run("make_it_fail", {"before_after": result.figure}, {})["before_after"],
        top5_table(result),
        _notice(result.sentence),
    )


def top5_table(result: fail.FailResult) -> str:
    """Both top-5 lists side by side, as a Markdown table."""
    lines = [f"| rank | before | after ({result.amount}) |", "|---:|---|---|"]
    for rank, (old, new) in enumerate(zip(result.before.top5, result.after.top5), start=1):
        lines.append(f"| {rank} | {old[0]}: {old[1]} ({old[2]:.3f}) | {new[0]}: {new[1]} ({new[2]:.3f}) |")
    return "\n".join(lines)


HEAVY_STEPS = {3}  # optimises pictures: its own lane, so cheap requests never wait behind it
HANDLERS = {1: run_network, 2: run_first_layer, 3: run_layers, 4: run_classes, 5: run_mistake}
API_NAMES = {1: "learn_network", 2: "learn_first_layer", 3: "learn_layers", 4: "learn_classes", 5: "learn_mistake"}


def _inputs(image: str | None, backbone_name: str, allow_untrained: bool) -> tuple[registry.Backbone, Any]:
    if not image:
        raise handlers.user_error(NO_IMAGE)
    backbone = handlers.get_backbone(backbone_name, allow_untrained)
    return backbone, _opened(image, backbone)


def _opened(image: str, backbone: registry.Backbone) -> Any:
    """The upload decoded once, except a bundled sample, which stays a path so the steps can recognise it."""
    return image if samples.identify(image) is not None else handlers.open_image(image, backbone)


def _computed(title: str, backbone: registry.Backbone, compute):
    try:
        return compute()
    except ValueError as exc:  # our own checks: a class out of range, a layer the model lacks, no mistake to show
        raise handlers.user_error(handlers.without_paths(str(exc))) from None
    except Exception as exc:
        log.exception("Learn step %s failed on %s", title, backbone.name)
        raise gr.Error(
            f"{title} failed on {backbone.name}: {type(exc).__name__}: {handlers.without_paths(str(exc))}"
        ) from None


def _step(step: lesson.Step) -> tuple[str, str]:
    return results.save_run("learn", {"step": step.picture}, {})["step"], _notice(step.sentence)


def _notice(sentence: str) -> str:
    return f"**What to notice:** {sentence}"
