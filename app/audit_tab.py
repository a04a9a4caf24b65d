"""The Audit tab: does the model cheat? The strategies it uses across a class's images (`registry.strategies`, SpRAy)
and the concepts that drive the class (`registry.concept_test`, TCAV), on the page's backbone, a model of one's own
included (that is who needs it most).

The images come as Evaluate's do (a zip read by its reader under its caps and rules), or as crops of the bundled
sample photos, so a visitor can try it without a zip: a dozen seeded crops of each photo, labelled with its classes
and carrying its box (a crop moves the object about, so the strategies differ in where the heat sits). A concept zip
holds one folder per concept and, optionally, folders named ``random…``: the random sets to test against (else
random crops of the class's images and the samples). Both run in the heavy lane as one bounded request: Stop, a
closed page or the request budget end them between two batches.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

import registry
from app import controls, evaluate_tab, handlers, results, script_api, uploads
from app.page import Page, Results, TabParts
from app.requests import gpu, lane
from registry import Param
from registry.audit import CONCEPT_MIN_IMAGES, MIN_IMAGES, RANDOM_SETS, ROW_COLUMNS
from registry.evaluation import DataError, Record, records, resolve_labels, unpacked_records, write_csv
from registry.imaging import EXAMPLES, labelled_samples

SAMPLES, ZIP = evaluate_tab.SAMPLES, evaluate_tab.ZIP
SOURCES = [("crops of the bundled samples", SAMPLES), ("my zip of images", ZIP)]
LABEL, PREDICTION = "label", "prediction"
CHOOSING = [("their label (class folders or a manifest)", LABEL), ("the model's prediction", PREDICTION)]
MOST = "the most common class"  # the class most images are labelled (or predicted) as
CROPS = 12  # crops made of each bundled sample photo (more when more strategies are asked for)
MAX_CLUSTERS = 8
RANDOM_PREFIX = "random"  # a concept zip's folders named so are random sets, not concepts
INTRO = f"""**Does the model cheat?** A model that learned a shortcut (a tag on one hospital's scans, a watermark on
one class's photos) looks fine on most images and cheats on a few; nobody opens four hundred maps one by one.
**Strategies** groups a class's maps by where the model looks (SpRAy), the most unusual group first: a small group
whose heat sits off the object or on the border is how a shortcut shows. **Concepts** tests whether a concept you
show it (one folder of images per concept) drives the class (TCAV, with its significance test). Both run on the
backbone chosen above, your own model included. Use crops of the bundled samples or a zip of images (`class/image.jpg`
folders, or a manifest), at most {evaluate_tab.MAX_IMAGES} images; strategies need at least {MIN_IMAGES} images of
the class."""

STRATEGIES_ALT = (
    "Every image of the class as a point, coloured by strategy, with thumbnails of typical members; beside it each "
    "strategy's mean map over its mean image. The sentences below say the same"
)
CONCEPTS_ALT = (
    "A bar per concept and layer: its TCAV score, a star when significant, n.s. when not; the dashed line is what "
    "random sets score. The table below holds the numbers"
)


def build(page: Page) -> TabParts:
    """Lay out the tab. Its results read the page's backbone and weights switch and the tab's own choices."""
    with gr.Tab("Audit", id="audit", elem_id="tab-audit"):
        return _layout(page)


def _layout(page: Page) -> TabParts:
    """The images and the class; then strategies (method, clusters) and concepts (a zip of concept folders), each
    with its button, Stop and results."""
    plugins = [p for p in registry.list_plugins() if p.output == "heatmap"]
    gr.Markdown(INTRO)
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            source = gr.Radio(SOURCES, value=SAMPLES, label="Images", elem_id="audit-source")
            archive = uploads.CheckedFile(label="A zip of images", file_types=[".zip"], elem_id="audit-zip", height=100)
            target = controls.ClassPicker(
                choices=class_choices(page.backbone.labels),
                value=MOST,
                allow_custom_value=True,
                label="Class",
                elem_id="audit-class",
                info="Pick one, or type a number or a name.",
            )
            by = gr.Radio(CHOOSING, value=LABEL, label="The class's images, by", elem_id="audit-by")
            method = controls.OpenDropdown(
                choices=[(p.title, p.name) for p in plugins],
                value="gradcam" if any(p.name == "gradcam" for p in plugins) else plugins[0].name,
                allow_custom_value=True,
                label="Method",
                elem_id="audit-method",
            )
            clusters = _count("clusters", 0, 0, MAX_CLUSTERS, "Strategies (0: the eigengap decides)", "audit-clusters")
            run, stop = _buttons("Find strategies", "strategies")
        with gr.Column(scale=5, elem_classes="result-column"):
            figure = controls.result_picture(
                "Strategies", "result-strategies", STRATEGIES_ALT, buttons=["download", "fullscreen"]
            )
            sentences = gr.Markdown(elem_id="info-strategies", label="sentences")
            rows = gr.File(label="Rows (CSV)", interactive=False, elem_id="strategies-rows")
    gr.Markdown(
        f"### Concepts\nA zip with one folder of images per concept (at least {CONCEPT_MIN_IMAGES} each), e.g. "
        f"`stripes/…`, `watermark/…`; folders named `{RANDOM_PREFIX}…` are your own random sets (at least 3), "
        "otherwise random crops of the class's images and the samples are drawn. The class and its images are the "
        "ones above."
    )
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            concepts = uploads.CheckedFile(
                label="A zip of concept folders", file_types=[".zip"], elem_id="audit-concepts", height=100
            )
            randoms = _count(
                "random_sets",
                RANDOM_SETS,
                2,
                RANDOM_SETS,
                "Random sets to test against",
                "audit-random-sets",
                info=f"Kim et al. ask at least {RANDOM_SETS}; fewer is quicker and says less.",
            )
            test, stop_test = _buttons("Test concepts", "concepts")
        with gr.Column(scale=5, elem_classes="result-column"):
            scores = controls.result_picture(
                "TCAV scores", "result-concepts", CONCEPTS_ALT, buttons=["download", "fullscreen"]
            )
            verdicts = gr.Markdown(elem_id="info-concepts", label="verdicts")
            table = gr.Dataframe(label="Scores per layer", interactive=False, elem_id="concepts-table")
            concept_rows = gr.File(label="Rows (CSV)", interactive=False, elem_id="concepts-rows")

    archive.upload(lambda: ZIP, inputs=None, outputs=source, api_visibility="private", queue=False)
    for trigger in (page.backbone_name.change, page.allow_random.change):  # the class list is the model's own
        trigger(
            gpu(follow_backbone),
            inputs=[page.backbone_name, page.allow_random],
            outputs=target,
            api_visibility="private",
            show_progress="hidden",
        )
    common = [source, archive, target, by]
    model = [page.backbone_name, page.allow_random]
    finding = run.click(
        gpu(run_strategies, heavy=True),
        inputs=[*common, method, clusters, *model],
        outputs=[figure, sentences, rows],
        show_progress_on=figure,
        api_name="strategies",
        **lane(True),
    )
    controls.stops(stop, [finding])
    testing = test.click(
        gpu(run_concepts, heavy=True),
        inputs=[*common, concepts, randoms, *model],
        outputs=[scores, verdicts, table, concept_rows],
        show_progress_on=scores,
        api_name="concepts",
        **lane(True),
    )
    controls.stops(stop_test, [testing])
    return TabParts(
        results=(
            Results((figure, sentences, rows), (*common, method, clusters, *model)),
            Results((scores, verdicts, table, concept_rows), (*common, concepts, randoms, *model)),
        )
    )


def _buttons(text: str, name: str) -> tuple[gr.Button, gr.Button]:
    """The run button (`#run-<name>`) and its Stop (`#stop-<name>`)."""
    return gr.Button(text, variant="primary", elem_id=f"run-{name}"), controls.stop_button(f"stop-{name}")


def _count(name: str, default: int, low: int, high: int, label: str, elem_id: str, **kwargs: Any) -> gr.Slider:
    """A whole-number slider whose value, from the page or a script, is checked by its `Param` (refused in words)."""
    param = Param(name, "int", default, minimum=low, maximum=high, step=1)
    return controls.checked(
        controls.Slider, param, value=default, minimum=low, maximum=high, step=1, label=label, elem_id=elem_id, **kwargs
    )


def class_choices(labels: list[str]) -> list[str]:
    """The class picker's entries: the most common class first, then every class as 'index: label'."""
    return [MOST, *handlers.target_choices(labels)[1:]]


def follow_backbone(name: str, allow_untrained: bool) -> dict:
    """The class picker lists the classes of the backbone chosen above."""
    try:
        backbone = handlers.get_backbone(name, allow_untrained)
    except gr.Error:
        return gr.update()
    return gr.update(choices=class_choices(backbone.labels), value=MOST)


def run_strategies(
    source: str | None = SAMPLES,
    archive: str | None = None,
    target: Any = MOST,
    by: str | None = LABEL,
    method: str = "gradcam",
    clusters: int = 0,
    backbone: str = registry.DEFAULT_BACKBONE,
    allow_untrained: bool = False,
    progress=gr.Progress(),
):
    """The /strategies endpoint: (the figure, a sentence per strategy (the most unusual first), rows.csv: one row per
    image with its strategy, layout place and scores)."""
    plugin = _heatmap_method(method)
    loaded = handlers.get_backbone(backbone, bool(allow_untrained))
    wanted = _class(target, loaded)
    folder = results.new_folder("audit-")
    root = folder / "data"
    with _in_words(root):
        data, notes, wanted = _images(source, archive, by, wanted, loaded, root, max(CROPS, 3 * (clusters or 0)))
        progress(0.0, desc="Computing the maps")
        found = registry.strategies(
            data,
            _lane(loaded),
            wanted,
            plugin.name,
            clusters=clusters or None,
            progress=lambda fraction, words: progress(fraction, desc=words),
        )
    shown = [{**row, "image": evaluate_tab.shown_name(row["image"], root)} for row in found.rows]
    csv_path = write_csv(folder / "strategies.csv", ROW_COLUMNS, shown)
    how = "as asked" if clusters else "the eigengap's choice"
    lines = [
        f"**{evaluate_tab.counted(len(found.rows), 'image')} of '{found.target_label}' ({plugin.title}, "
        f"{loaded.name}): {evaluate_tab.counted(len(found.strategies), 'strategy').replace('strategys', 'strategies')}"
        f" ({how}), in {found.seconds:.1f} s.** The most unusual comes first: a small one with its heat off the "
        "object or on the border is how a shortcut shows.",
        *[f"- {strategy.sentence}" for strategy in found.strategies],
        *notes,
        *[f"- ⚠️ {handlers.without_paths(error)}" for error in found.errors[:5]],
    ]
    return found.figure, "\n".join(lines), str(csv_path)


def run_concepts(
    source: str | None = SAMPLES,
    archive: str | None = None,
    target: Any = MOST,
    by: str | None = LABEL,
    concepts: str | None = None,
    random_sets: int = RANDOM_SETS,
    backbone: str = registry.DEFAULT_BACKBONE,
    allow_untrained: bool = False,
    progress=gr.Progress(),
):
    """The /concepts endpoint: (the TCAV scores per layer as a figure, a sentence per concept and layer ("not
    significant" where the test says so), the table of scores, concepts.csv)."""
    if not concepts:
        raise handlers.user_error("Upload a zip of concept folders first (one folder of images per concept).")
    loaded = handlers.get_backbone(backbone, bool(allow_untrained))
    wanted = _class(target, loaded)
    folder = results.new_folder("audit-concepts-")
    root, unpacked = folder / "data", folder / "concepts"
    with _in_words(root, unpacked):
        named, randoms, notes = _concept_sets(concepts, unpacked)
        data, data_notes, wanted = _images(source, archive, by, wanted, loaded, root, CROPS)
        wanted, images = _class_images(data, wanted, loaded, by)
        lane_backbone = _lane(loaded)

        def step(fraction: float, words: str) -> None:
            reason = registry.current_request().stop_reason()  # Stop, a closed page or the budget: between batches
            if reason is not None:
                raise registry.RequestStopped(f"The concept test stopped: {reason}.")
            progress(fraction, desc=words)

        with lane_backbone.lock:
            test = registry.concept_test(
                lane_backbone,
                wanted,
                named,
                images,
                random=randoms or None,
                random_sets=int(random_sets),
                cache=False,  # the server keeps no activations of visitors' images
                progress=step,
            )
    test.save(folder)
    headers = ["concept", "layer", "score", "random_score", "p_adjusted", "significant"]
    rounded = [[round(row[h], 4) if isinstance(row[h], float) else row[h] for h in headers] for row in test.rows]
    lead = (
        f"**{len(named)} concept{'s' if len(named) != 1 else ''} × {len(test.layers)} layers for "
        f"'{test.label}' on {evaluate_tab.counted(len(images), 'image')} of the class, in {test.seconds:.1f} s.** "
        "A score alone says nothing: only a significant one (after correction for the tests made) is a finding."
    )
    if len(named) == 1:
        lead += " One concept: it is tested against random sets only; add folders to compare concepts."
    said = [f"- {line}" for line in test.verdicts()]
    extra = [*notes, *data_notes, *[f"- {note}" for note in test.notes]]  # the zips' notes are list items already
    return (
        test.figure,
        "\n".join([lead, *said, *extra]),
        {"headers": headers, "data": rounded},
        str(folder / "concepts.csv"),
    )


def _heatmap_method(method: Any) -> registry.Plugin:
    """The registered method `method` names, if it draws a map the strategies can compare."""
    plugin = script_api.named_plugin(method)
    if plugin.output != "heatmap":
        raise handlers.user_error(f"{plugin.title} draws pictures, not a map, so its strategies cannot be compared.")
    return plugin


def _class(choice: Any, backbone: registry.Backbone) -> int | None:
    """The class chosen: None for the most common one."""
    if choice is None or (isinstance(choice, str) and choice.strip() in ("", MOST, handlers.PREDICTED)):
        return None
    return handlers.parse_target(choice, backbone.labels)


def _images(
    source: str | None,
    archive: str | None,
    by: str | None,
    wanted: int | None,
    backbone: registry.Backbone,
    root: Path,
    crops: int,
) -> tuple[list[Record], list[str], int | None]:
    """The records to audit (unlabelled when the class is taken by prediction), notes on what was read, and the
    class (for the samples: the first sample's when none was chosen)."""
    if by not in (LABEL, PREDICTION):
        raise handlers.user_error(f"by must be '{LABEL}' or '{PREDICTION}'.")
    if source == ZIP or (source != SAMPLES and archive):
        if not archive:
            raise handlers.user_error("Upload a zip of images first, or choose the bundled samples.")
        _, notes = evaluate_tab.extract(archive, root)
        found = unpacked_records(root)
    else:
        found, notes, labelled = _sample_crops(wanted, backbone, root, crops)
        wanted = labelled if by == LABEL else wanted  # by prediction: the class the crops are predicted as most
    if by == PREDICTION:
        found = [Record(record.path, None, record.box, record.mask) for record in found]
    return found, notes, wanted


def _sample_crops(
    wanted: int | None, backbone: registry.Backbone, root: Path, crops: int
) -> tuple[list[Record], list[str], int]:
    """`crops` seeded crops of the first bundled photo that shows the class (of the first labelled one, and its
    first class, when none is chosen), each labelled with the class and carrying the photo's box moved into it."""
    shown = [sample for sample in labelled_samples().values() if sample.classes]
    if backbone.num_classes != 1000:
        raise handlers.user_error(
            "The bundled samples are labelled with ImageNet's classes, which this model does not have: upload a "
            "zip of your own images."
        )
    chosen = [sample for sample in shown if wanted is None or wanted in sample.classes][:1]
    if not chosen:
        listed = "; ".join(sample.classes_text for sample in shown)
        raise handlers.user_error(
            f"No bundled sample shows class {wanted} ({backbone.labels[wanted]}); they show {listed}. Choose one of "
            "them, or upload a zip."
        )
    sample = chosen[0]
    boxes = {Path(record.path).name: record.box for record in records(SAMPLES)}
    with Image.open(Path(EXAMPLES) / sample.file) as opened:
        picture = opened.convert("RGB")
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    wanted = wanted if wanted is not None else sample.classes[0]
    label = str(wanted)  # one class: a record of several is mapped for the one the model ranks best
    made = []
    for number in range(crops):
        crop, box = _crop(picture, boxes.get(sample.file), rng)
        path = root / f"{Path(sample.file).stem}_{number:02d}.png"
        crop.save(path)
        made.append(Record(str(path), label, box))
    note = f"- {crops} crops of the bundled {sample.file} ({sample.classes_text}), each with its box moved along."
    return made, [note], wanted


def _crop(
    picture: Image.Image, box: tuple[float, float, float, float] | None, rng: np.random.Generator
) -> tuple[Image.Image, tuple[float, float, float, float] | None]:
    """A crop of 45–90 % of each side, anywhere, flipped half the time; the box clipped to it (None if it leaves)."""
    width, height = picture.size
    w, h = int(width * rng.uniform(0.45, 0.9)), int(height * rng.uniform(0.45, 0.9))
    x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    crop = picture.crop((x0, y0, x0 + w, y0 + h))
    moved = None
    if box is not None:
        left, top = max(box[0] - x0, 0.0), max(box[1] - y0, 0.0)
        right, bottom = min(box[2] - x0, float(w)), min(box[3] - y0, float(h))
        moved = (left, top, right, bottom) if right > left and bottom > top else None
    if rng.random() < 0.5:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        moved = None if moved is None else (w - moved[2], moved[1], w - moved[0], moved[3])
    return crop, moved


def _concept_sets(archive: str, root: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """The concept zip read with Evaluate's caps and rules: {concept: its folder}, the random sets' folders, notes."""
    _, notes = evaluate_tab.extract(archive, root)
    top = root
    entries = [path for path in root.iterdir() if not path.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        top = entries[0]  # the zip of one folder that holds the concept folders
    folders = sorted(p for p in top.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX")))
    if not folders:
        raise handlers.user_error(
            "The concept zip holds images but no folders: put each concept's images in a folder of its own "
            "(stripes/1.jpg, dots/1.jpg, …)."
        )
    randoms = [str(p) for p in folders if p.name.lower().startswith(RANDOM_PREFIX)]
    named = {p.name: str(p) for p in folders if not p.name.lower().startswith(RANDOM_PREFIX)}
    if not named:
        raise handlers.user_error(
            f"The concept zip holds only random sets ({RANDOM_PREFIX}…); add a folder of images of a concept."
        )
    return named, randoms, notes


def _class_images(
    data: list[Record], wanted: int | None, backbone: registry.Backbone, by: str | None
) -> tuple[int, list[str]]:
    """The class's images for the concept test: those labelled as the class, or (by prediction) predicted as it;
    the class most images are labelled or predicted as when none was chosen."""
    if by == PREDICTION:
        classes = {record.path: [backbone.predict(record.path, k=1)[0][0]] for record in data}
    else:
        resolved = resolve_labels([record.label for record in data], backbone)
        classes = {record.path: list(resolved[record.label]) if record.label else [] for record in data}
        if not any(classes.values()):
            raise handlers.user_error(
                "These images have no labels (class folders or a manifest): take the class's images by the model's "
                "prediction instead."
            )
    if wanted is None:
        firsts = [found[0] for found in classes.values() if found]
        wanted = int(np.bincount(firsts).argmax())
    chosen = [path for path, found in classes.items() if wanted in found]
    if not chosen:
        how = "predicted as" if by == PREDICTION else "labelled"
        raise handlers.user_error(f"No image is {how} class {wanted} ({backbone.labels[wanted]}).")
    return wanted, chosen


@contextmanager
def _in_words(*unpacked: Path) -> Iterator[None]:
    """A problem with the input, or a stop, as a sentence; the unpacked images are removed either way."""
    try:
        yield
    except gr.Error:
        raise
    except (DataError, ValueError, registry.RequestStopped) as exc:
        raise handlers.user_error(_stopped_or(str(exc))) from None
    finally:
        for folder in unpacked:
            shutil.rmtree(folder, ignore_errors=True)


def _stopped_or(message: str) -> str:
    """The reason the request stopped, when it did (Stop, a closed page, the budget); else `message`, without paths."""
    reason = registry.current_request().stop_reason()
    if reason is not None:
        return f"Stopped early: {reason}. Nothing is shown for a partial run; try fewer images."
    return handlers.without_paths(message)


def _lane(backbone: registry.Backbone) -> registry.Backbone:
    """The backbone this request computes on: its heavy lane's modules in a heavy request (app/requests.py)."""
    return backbone.heavy_lane() if registry.current_request().heavy else backbone
