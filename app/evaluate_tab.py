"""The Evaluate tab: methods and backbones scored over a zip of images or the bundled samples (`registry.evaluate`).

A zip is read with the upload rules of the image input (only Gradio's own uploads open), capped in count and
uncompressed size, and extracted into a folder of this request's own; entries that would land outside it
(zip-slip) are refused and files that are not images are skipped, both counted in words. A manifest (CSV or JSON
lines) may sit inside the zip or come alongside it; its paths must name images inside the zip, and any other path
gets one sentence whether it exists on the server or not (`registry.evaluation.manifest`'s `within`). The map cap
counts the rows the request will compute, read before any model runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import gradio as gr

import registry
from app import controls, handlers, results, uploads
from app.page import Page, Results, TabParts
from app.requests import gpu, lane
from registry.evaluation import (
    COLUMNS,
    DEFAULT_METHODS,
    DEFAULT_METRICS,
    MANIFEST_SUFFIXES,
    METRICS,
    DataError,
    extract_zip,
    records,
    unpacked_records,
    write_csv,
)
from registry.imaging import labelled_samples

SAMPLES, ZIP = "samples", "zip"  # the values a script passes as `source`; the page shows SOURCES' labels
SOURCES = [("the bundled samples", SAMPLES), ("my zip of images", ZIP)]
MAX_IMAGES = 200
MAX_BYTES = 100 * 1024 * 1024
MAX_MAPS = 600  # image rows × backbones × methods in one request
GALLERY = 12  # images shown with their prediction and map, the first backbone's and method's (the CSV has all)
INTRO = f"""Score methods and backbones over many images: **top-1 / top-5 accuracy**, the **pointing game** and the
**energy in the box** (for images with a box), deletion / insertion and the grid pointing game. Use the bundled samples
(their boxes are recorded) or upload a zip of images: `class/image.jpg` folders, or any images with a manifest
(CSV or JSON lines: `path,label,box`). At most {MAX_IMAGES} images, {MAX_BYTES // 2**20} MB unpacked and
{MAX_MAPS} maps (image rows × backbones × methods) per run."""


def build(page: Page) -> TabParts:
    """Lay out the tab. Its results read nothing above the tabs (it has its own images, backbones and methods): they
    go, as every tab's, when one of its own choices changes."""
    with gr.Tab("Evaluate", id="evaluate", elem_id="tab-evaluate"):
        results = _layout(page.backbone)
    return TabParts(results=(results,))


def _layout(backbone: registry.Backbone) -> Results:
    """The images, backbones, methods and metrics, Evaluate and Stop, the summary and the rows."""
    plugins = [p for p in registry.list_plugins() if p.output == "heatmap"]
    gr.Markdown(INTRO)
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            source = gr.Radio(SOURCES, value=SAMPLES, label="Images", elem_id="evaluate-source")
            archive = uploads.CheckedFile(
                label="A zip of images", file_types=[".zip"], elem_id="evaluate-zip", height=100
            )
            listing = uploads.CheckedFile(
                label="A manifest (optional; CSV or JSON lines)",
                file_types=list(MANIFEST_SUFFIXES),
                elem_id="evaluate-manifest",
                height=100,
            )
            backbones = controls.backbone_list(backbone, "evaluate-backbones")
            methods = controls.method_list(plugins, list(DEFAULT_METHODS), "evaluate-methods")
            metrics = gr.CheckboxGroup(
                choices=list(METRICS), value=list(DEFAULT_METRICS), label="Metrics", elem_id="evaluate-metrics"
            )
            run = gr.Button("Evaluate", variant="primary", elem_id="run-evaluate")
            stop = controls.stop_button("stop-evaluate")
        with gr.Column(scale=5, elem_classes="result-column"):
            figure = controls.result_picture(
                "Summary",
                "result-evaluate",
                alt_text="The evaluation's scores as a coloured table: a panel per score, methods down, backbones "
                "across, each cell's mean and range written in it; the table below holds the same numbers",
            )
            note = gr.Markdown(elem_id="info-evaluate", label="note")  # labels name the API's outputs
            table = gr.Dataframe(label="Summary table", interactive=False, elem_id="evaluate-summary")
            rows = gr.File(label="Rows (CSV)", interactive=False, elem_id="evaluate-rows")
            gallery = gr.Gallery(
                label=f"Each image (the first {GALLERY}): its prediction, right or wrong, and its map",
                elem_id="evaluate-gallery",
                columns=4,
                height="auto",
                object_fit="contain",
                format="png",
            )
    archive.upload(lambda: ZIP, inputs=None, outputs=source, api_visibility="private", queue=False)
    evaluating = run.click(
        gpu(run_evaluate, heavy=True),
        inputs=[source, archive, listing, backbones, methods, metrics],
        outputs=[table, figure, rows, note, gallery],
        show_progress_on=figure,
        api_name="evaluate",
        **lane(True),
    )
    controls.stops(stop, [evaluating])
    return Results((table, figure, rows, note, gallery), (source, archive, listing, backbones, methods, metrics))


def run_evaluate(
    source: str | None = SAMPLES,
    archive: str | None = None,
    listing: str | None = None,
    backbones: list[str] | None = (registry.DEFAULT_BACKBONE,),
    methods: list[str] | None = DEFAULT_METHODS,
    metrics: list[str] | None = DEFAULT_METRICS,
    progress=gr.Progress(),
):
    """The /evaluate endpoint: (summary table, summary figure, rows.csv, a note of what was read and skipped, and a
    gallery of the first images: each with its prediction, right or wrong, and its map)."""
    names = handlers.listed(backbones, "backbone")
    chosen = handlers.listed(methods, "method")
    scores = handlers.listed(metrics, "metric")
    folder = str(results.new_folder("evaluate-"))
    data_root = Path(folder) / "data"
    notes: list[str] = []
    data = None
    try:
        if source == ZIP or (source != SAMPLES and archive):
            if not archive:
                raise handlers.user_error("Upload a zip of images first, or choose the bundled samples.")
            _, notes = extract(archive, data_root)
            data = unpacked_records(data_root, listing)
        else:
            data = records("samples")
        _bounded(len(data), names, chosen)
        loaded = [handlers.get_backbone(name, False) for name in names]
        progress(0.0, desc="Evaluating")
        evaluation = registry.evaluate(
            data, loaded, chosen, scores, progress=lambda fraction, words: progress(fraction, desc=words)
        )
        shown = [] if evaluation.stopped else gallery_of(evaluation.rows, loaded[0], chosen[0], data_root)
    except gr.Error:
        raise
    except (DataError, ValueError) as exc:
        raise handlers.user_error(handlers.without_paths(str(exc))) from None
    finally:
        shutil.rmtree(data_root, ignore_errors=True)
    csv_path = _write_rows(evaluation.rows, Path(folder) / "rows.csv", data_root)
    summary = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in e.items()} for e in evaluation.summary]
    headers = ["method", "backbone", "score", "n", "mean", "low", "high"]
    table = {"headers": headers, "data": [[entry[h] for h in headers] for entry in summary]}
    count = len({row["image"] for row in evaluation.rows})
    line = (
        f"**{counted(count, 'image')} × {counted(len(names), 'backbone')} × {counted(len(chosen), 'method')} in "
        f"{evaluation.seconds:.1f} s**"
    )
    if data is not None and source != ZIP and not (source != SAMPLES and archive):
        line += left_out_samples()
    errors = [f"- ⚠️ {handlers.without_paths(error)}" for error in evaluation.errors[:5]]
    if evaluation.stopped:  # the budget or Stop ended it: what was finished is shown, and why the rest is not
        line += f"\n\n**Stopped early.** {evaluation.stopped} The rows finished before that are shown and in the CSV."
    if not summary:
        errors.append("- No scores: accuracy needs labels (class folders or a manifest), the box scores need boxes.")
    return table, evaluation.figure, str(csv_path), "\n".join([line, *notes, *errors]), shown


def gallery_of(
    rows: list[dict[str, Any]], backbone: registry.Backbone, method: str, root: Path
) -> list[tuple[Any, str]]:
    """The first GALLERY images of a run, each as (its map for the predicted class, "file · ✅ / ❌ / no label ·
    the prediction (the truth)"): right and wrong read from the rows Evaluate computed; the maps, which the rows do
    not keep, made again for these few (one backbone, one method), so the cost stays bounded."""
    plugin, seen, shown = registry.get_plugin(method), set(), []
    for row in rows:
        image = str(row.get("image") or "")
        if row.get("kind") != "image" or row.get("error") or row.get("backbone") != backbone.name or image in seen:
            continue
        seen.add(image)
        mark = {True: "✅ right", False: "❌ wrong"}.get(row.get("top1"), "no label")
        truth = f" (true: {str(row['label']).replace('|', ' or ')})" if row.get("label") not in (None, "") else ""
        caption = (
            f"{shown_name(image, root)} · {mark}: {row['predicted']} {row['predicted_label'].split(',')[0]}{truth}"
        )
        if registry.current_request().stop_reason() is not None:
            break  # cancelled or past the budget: the gallery shows the maps made so far
        try:
            result = plugin.run(backbone, image, target=int(row["predicted"]))
        except registry.RequestStopped:
            break
        except Exception:  # a map that fails here failed in the rows too, which say why
            continue
        shown.append((result.images[0], f"{caption} · {plugin.title}"))
        if len(shown) == GALLERY:
            break
    return shown


def counted(number: int, word: str) -> str:
    """ "1 image", "6 images"."""
    return f"{number} {word}{'' if number == 1 else 's'}"


def left_out_samples() -> str:
    """Which samples shown on the page the bundled set leaves out, and why (they show no ImageNet class to score)."""
    left = sorted(sample.file for sample in labelled_samples().values() if not sample.classes)
    if not left:
        return ""
    shown = " and ".join([", ".join(left[:-1]), left[-1]] if len(left) > 1 else left)
    return f" · {shown} left out: {'it shows' if len(left) == 1 else 'they show'} no ImageNet class to score"


def extract(archive: str, root: Path) -> tuple[int, list[str]]:
    """Unpack the images (and a manifest) of `archive` into `root` under the tab's caps (`registry.extract_zip`'s
    rules): (images, notes on what was refused or skipped)."""
    try:
        return extract_zip(archive, root, MAX_IMAGES, MAX_BYTES)
    except DataError as exc:
        raise handlers.user_error(str(exc)) from None


def _bounded(rows: int, backbones: list[str], methods: list[str]) -> None:
    """Refuse a request over the map cap, counted from its image rows (a manifest's distinct rows) before any map."""
    maps = rows * len(backbones) * len(methods)
    if maps > MAX_MAPS:
        raise handlers.user_error(
            f"{counted(rows, 'image')} × {counted(len(backbones), 'backbone')} × {counted(len(methods), 'method')} is "
            f"{maps} maps; the limit is "
            f"{MAX_MAPS} per run: choose fewer."
        )


def _write_rows(rows: list[dict[str, Any]], path: Path, root: Path) -> Path:
    """rows.csv with each image named as in the zip (or by its file name), never by its place on the server."""
    shown_rows = []
    for row in rows:
        shown = dict(row)
        image = str(row.get("image") or "")
        grid = "grid:" if image.startswith("grid:") else ""
        shown["image"] = grid + "|".join(shown_name(part, root) for part in image[len(grid) :].split("|"))
        if shown.get("error"):
            shown["error"] = handlers.without_paths(str(shown["error"]))
        shown_rows.append(shown)
    return write_csv(path, COLUMNS, shown_rows)


def shown_name(image: str, root: Path) -> str:
    try:
        return Path(image).relative_to(root).as_posix()
    except ValueError:
        return Path(image).name if os.path.isabs(image) else image
