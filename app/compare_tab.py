"""The Compare tab: backbones, classes, layers and methods side by side, from `registry.compare`.

Methods are listed from the registry, so a new plugin appears here with no change; presets fill
the four axes in one click for the comparisons people come for.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

import registry
from app import controls, handlers, own_models, results
from app.own_model_section import backbone_choices
from app.page import Page, Results, TabParts
from app.requests import gpu, lane
from registry import current_request
from registry.analysis import (
    DEFAULT_PLUGINS,
    DEFAULT_SEEDS,
    MIN_SEEDS,
    check_compare_size,
    find_wrong_case,
)
from registry.imaging import samples
from registry.methods import DEPTHS

DEFAULT_LAYER = "default"
SCORE_STEPS = 10  # deletion / insertion steps per map in Compare: half the default, for a grid
SCORE_SEEDS = 2  # random maps per map in Compare: a mean to rank a grid's maps by, cheap enough for every cell
NO_VERDICT = (
    f"The random column is the mean of {SCORE_SEEDS} random maps per map: enough to rank these maps on this image, "
    f'too few for a verdict. "Beats random" needs at least {MIN_SEEDS} random maps and the map\'s own reverse '
    f"order; a method's tab gives it under *How faithful is this map?* ({DEFAULT_SEEDS} random maps)."
)
SCALE_LABEL = "One colour scale per method and layer"
SEEDS = DEFAULT_PLUGINS  # the methods Compare starts with, as registry.compare does
INTRO = """Compare maps side by side: several **backbones**, the **predicted vs a true class**, **early / middle /
final** layers, or several **methods** on one image. Each backbone runs one shared forward pass (and one
backward per class) for all its maps, so a grid costs little more than its most expensive map.
At most {cells} maps per comparison."""


def build(page: Page) -> TabParts:
    """Lay out the tab; return its results and what they read: the image, the weights choice and the tab's own choices
    (not the page's backbone and class: the backbone and class axes follow the page's backbone field instead, so a
    model of one's own is compared with its classes)."""
    with gr.Tab("Compare", id="compare", elem_id="tab-compare"):
        return _layout(page)


def _layout(page: Page) -> TabParts:
    """The presets, the four axes and the two switches, Compare and Stop, the figure and its downloads."""
    backbone, plugins = page.backbone, registry.list_plugins()
    gr.Markdown(INTRO.format(cells=registry.MAX_CELLS))
    with gr.Row():
        presets = {
            name: gr.Button(name, size="sm", elem_id=f"preset-{name.split()[0].lower()}")
            for name in ("Backbones", "Correct vs incorrect", "Layers", "Methods")
        }
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            backbones = controls.backbone_list(
                backbone, "compare-backbones", info="Pick several, or type any timm name and press Enter."
            )
            methods = controls.method_list(
                plugins, SEEDS, "compare-methods", info="Heavy methods run tens of model passes each."
            )
            classes = controls.ClassPicker(
                choices=handlers.target_choices(backbone.labels),
                value=[handlers.PREDICTED],
                multiselect=True,
                allow_custom_value=True,
                label="Classes",
                elem_id="compare-classes",
                info="'predicted' is each backbone's own top-1; type to search the class list.",
            )
            layers = controls.OpenDropdown(
                choices=[("the layer each method usually looks at", DEFAULT_LAYER), *[(d, d) for d in DEPTHS]],
                value=[DEFAULT_LAYER],
                multiselect=True,
                allow_custom_value=True,
                label="Layers",
                elem_id="compare-layers",
                info="Depth words are resolved per backbone; module names work too.",
            )
            scale_info = "Maps of several classes share a scale, so a class the model barely sees looks weak."
            common_scale = controls.switch("common_scale", True, label=SCALE_LABEL, info=scale_info)
            scored = controls.switch(
                "faithfulness",
                False,
                label="Faithfulness scores (slower)",
                elem_id="compare-scores",
                info=f"Deletion and insertion AUCs for every map ({SCORE_STEPS} steps, {SCORE_SEEDS} random maps), so "
                "methods and backbones can be ranked on this image; a method's tab gives the verdict.",
            )
            run = gr.Button("Compare", variant="primary", elem_id="run-compare")
            stop = controls.stop_button("stop-compare")
        with gr.Column(scale=5, elem_classes="result-column"):
            figure = controls.result_picture(
                "Comparison",
                "result-compare",
                buttons=["download", "fullscreen"],
                alt_text="The comparison grid: a row per backbone, class and layer, a column per method, each heatmap "
                "with its colour bar; the text below sums it up",
            )
            summary = gr.Markdown(elem_id="info-compare", label="summary")
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
            cells = gr.JSON(label="Cells", open=False)

    for trigger in (page.backbone_name.change, page.allow_random.change):
        trigger(
            gpu(follow_main),
            inputs=[page.backbone_name, page.allow_random],
            outputs=[backbones, classes],
            api_visibility="private",
            show_progress="hidden",
        )
    axes = [backbones, methods, classes, layers]
    fills = _presets(backbone, plugins)
    for name, button in presets.items():
        filled = button.click(  # "Correct vs incorrect" asks the model for its prediction: a GPU event on ZeroGPU
            gpu(fills[name]),
            inputs=[backbones, classes, page.target, page.image],
            outputs=[*axes, page.image],
            api_visibility="private",
        )
        if name == "Correct vs incorrect":  # it may bring a new image (a wrong sample): one more way one arrives,
            page.arrivals.append(filled.then)  # so the predictions follow and old results go (app/ui.py wires them)
    inputs = [page.image, backbones, methods, classes, layers, page.allow_random, common_scale, scored]
    shown = [figure, summary, downloads, cells]
    comparing = run.click(
        gpu(run_compare, heavy=True),
        inputs=inputs,
        outputs=shown,
        show_progress_on=figure,  # one progress place, over the figure it is making
        api_name="compare",
        **lane(True),
    )
    controls.stops(stop, [comparing])
    return TabParts(results=(Results(shown=tuple(shown), reads=tuple(inputs)),))  # a preset's fill changes the axes


def _presets(backbone: registry.Backbone, plugins: list[registry.Plugin]) -> dict:
    """What each preset button puts in the four axes (backbones, methods, classes, layers) and the image (changed only
    by "Correct vs incorrect", to a sample the model gets wrong)."""
    names = [p.name for p in plugins]
    seeds = [n for n in names if n in SEEDS] or names[:3]
    with_class = [p.name for p in plugins if p.needs_target and p.output == "heatmap" and p.cost == "light"][:3]
    with_layer = [p.name for p in plugins if p.needs_layer and p.name in SEEDS] or [
        p.name for p in plugins if p.needs_layer
    ][:2]
    heatmaps = [  # heavy ones are one click away; those refused on the starting backbone would be empty cells
        p.name for p in plugins if p.output == "heatmap" and p.cost == "light" and p.refusal(backbone) is None
    ]

    def first(chosen: list[str] | None) -> list[str]:
        return (chosen or [backbone.name])[:1]

    def wrong_case(chosen: list[str] | None, picked: list[str] | None, main: str | None, image: str | None):
        """Each backbone's own top-1 beside the true class of a case the first backbone gets wrong (found when the
        image is right or unlabelled: see `_wrong_case`), or beside the classes picked here or the main target."""
        named = chosen or [backbone.name]
        picked = [c for c in (picked or []) if c != handlers.PREDICTED] or (
            [main] if main and main != handlers.PREDICTED else []
        )
        shown, classes = _wrong_case(named[0], image, picked)
        return named, with_class, [handlers.PREDICTED, *classes], [DEFAULT_LAYER], shown

    def same_image(*axes) -> tuple:
        return (*axes, gr.update())

    return {
        "Backbones": lambda chosen, _c, _t, _i: same_image(
            list(registry.list_backbones()[:3]),
            seeds,
            [handlers.PREDICTED],
            [DEFAULT_LAYER],
        ),
        "Correct vs incorrect": wrong_case,
        "Layers": lambda chosen, _c, _t, _i: same_image(first(chosen), with_layer, [handlers.PREDICTED], list(DEPTHS)),
        "Methods": lambda chosen, _c, _t, _i: same_image(
            first(chosen),
            heatmaps[: registry.MAX_CELLS],
            [handlers.PREDICTED],
            [DEFAULT_LAYER],
        ),
    }


def run_compare(
    image: str | None,
    backbones: list[str] | None,
    methods: list[str] | None,
    classes: list[Any] | None,
    layers: list[str] | None,
    allow_untrained: bool = False,
    common_scale: bool = True,
    faithfulness: bool = False,
    progress=gr.Progress(),
):
    """The /compare endpoint: (figure, summary, [figure.png, maps.npz], cells as JSON)."""
    if not image:
        raise handlers.user_error("Upload an image first (or click one of the examples).")
    names, methods = handlers.listed(backbones, "backbone"), handlers.listed(methods, "method")
    classes = [classes] if isinstance(classes, str) else list(classes or [handlers.PREDICTED])
    layers = [layers] if isinstance(layers, str) else list(layers or [DEFAULT_LAYER])
    try:  # the limits first, from the lengths alone: nothing is parsed, loaded or built for a refused request
        check_compare_size(len(names), methods, len(classes), len(layers))
    except ValueError as exc:
        raise handlers.user_error(str(exc)) from None
    targets = [handlers.parse_target(choice) for choice in classes]
    depths = [None if layer in (None, "", DEFAULT_LAYER) else layer for layer in layers]
    progress(0.0, desc="Loading backbones")

    def advance(fraction: float, what: str) -> None:
        progress(fraction, desc=what)

    try:
        comparison = registry.compare(
            image,
            backbones=_backbones(names, allow_untrained),
            plugins=methods,
            targets=targets,
            layers=depths,
            allow_random=bool(allow_untrained),
            progress=advance,
            common_scale=bool(common_scale),
        )
    except ValueError as exc:
        raise handlers.user_error(str(exc)) from None
    for item in [*comparison.cells, *comparison.rows]:  # errors reach the client (text, JSON, figure): no server paths
        if item.error:
            item.error = handlers.without_paths(item.error)
    scores = {}
    if faithfulness:
        scores = registry.faithfulness_for_cells(
            comparison,
            image,
            steps=SCORE_STEPS,
            seeds=SCORE_SEEDS,
            inverse=False,
            progress=lambda fraction, what: progress(fraction, desc=f"Scoring {what}"),
        )
    files = save_downloads(comparison)
    summary = describe(comparison, scores)
    stopped = current_request().stop_reason()
    if stopped:  # a request cut short keeps what it finished, and says so
        summary += f"\n\n⏱ **Stopped early:** {stopped}; the cells and scores above are the ones finished before."
    return files[0], summary, files, cells_json(comparison, scores)


def _wrong_case(backbone_name: str, image: str | None, picked: list[str]) -> tuple[Any, list[str]]:
    """(the image to show, the classes to set beside each backbone's own top-1) for "Correct vs incorrect".

    A bundled sample the model gets wrong keeps its place, with its true class. On a sample it gets right, on one
    without an ImageNet class, or with no image, the image becomes the first sample it gets wrong. On an upload, the
    classes picked here or as the target stay; with none (or only the top-1 itself), the runner-up stands in for a
    wrong answer, and the note says so. A model of one's own has no labelled samples: the runner-up on its image."""
    try:
        model = handlers.get_backbone(backbone_name, False)
    except gr.Error:
        return gr.update(), picked[:3]
    sample = samples.identify(image)
    if image and sample is None:  # an upload: its true class is the person's to say
        ranking = model.predict(handlers.open_image(image, model), k=2)
        kept = [choice for choice in picked if _class_of(choice, model) not in (None, ranking[0][0])][:3]
        if kept or len(ranking) < 2:
            return gr.update(), kept
        (top, label, _p), (second, runner_up, _q) = ranking
        gr.Info(
            f"This image has no known label, so the runner-up class {second}: {runner_up} stands in for a wrong "
            f"answer beside {model.name}'s prediction {top}: {label}; pick its true class under Classes to see that."
        )
        return gr.update(), [f"{second}: {runner_up}"]
    case = find_wrong_case(model, image)
    if case is None:
        gr.Warning("'Correct vs incorrect' found no wrong case: pick a class to compare under Classes.")
        return gr.update(), picked[:3]
    gr.Info(f"Correct vs incorrect on {model.name}: {case.sentence}.")
    moved = case.sample is not None and case.image == case.sample.path and case.sample != sample
    return (_served_copy(case.sample.path) if moved else gr.update()), [f"{case.true}: {model.labels[case.true]}"]


def _served_copy(path: Path) -> str:
    """A sample's bytes in a results folder of this request's own (served wherever the package is installed); the
    same bytes, so the page still recognises it as that sample."""
    copy = results.new_folder("sample-") / path.name
    shutil.copyfile(path, copy)
    return str(copy)


def _class_of(choice: str, model: registry.Backbone) -> int | None:
    try:
        return handlers.parse_target(choice, model.labels)
    except gr.Error:
        return None


def follow_main(name: str, allow_untrained: bool, request: gr.Request) -> tuple[dict, dict]:
    """The backbone axis becomes the main backbone (this session's list offered), the class axis its classes."""
    try:
        backbone = handlers.get_backbone(name, allow_untrained)
    except gr.Error:
        return gr.update(), gr.update()
    session = str(getattr(request, "session_hash", None) or "")
    return (
        gr.update(choices=backbone_choices(session), value=[name]),
        gr.update(choices=handlers.target_choices(backbone.labels), value=[handlers.PREDICTED]),
    )


def _backbones(names: list[str], allow_untrained: bool) -> list[str | registry.Backbone]:
    """The backbone axis as compare takes it: an upload becomes its session's backbone, and a folder on the server is
    refused unless the operator listed it (app/own_models.py); every other name loads inside compare."""
    chosen: list[str | registry.Backbone] = []
    for name in names:
        if own_models.is_upload(name):
            chosen.append(handlers.get_backbone(name, bool(allow_untrained)))
            continue
        try:
            own_models.check_named(name)
        except own_models.OwnModelError as exc:
            raise handlers.user_error(str(exc)) from None
        chosen.append(name)
    return chosen


def save_downloads(comparison: registry.Comparison) -> list[str]:
    """The figure as PNG (shown and offered, encoded once) and every heatmap in one .npz keyed by cell,
    each written once to a file of this request's own (see app/results.py)."""
    folder = str(results.new_folder("compare-"))
    figure, maps = os.path.join(folder, "comparison.png"), os.path.join(folder, "comparison_maps.npz")
    comparison.figure.save(figure, compress_level=3)
    np.savez_compressed(maps, **comparison.maps())
    return [figure, maps]


def describe(comparison: registry.Comparison, scores: dict | None = None) -> str:
    """The text under the figure: what each backbone predicted, what was shared, what failed, how faithful."""
    failed = [cell for cell in comparison.cells if cell.error]
    made = len(comparison.cells) - len(failed)
    counted = f"{made} map{'' if made == 1 else 's'} in {comparison.seconds:.2f} s"
    lines = [f"**{counted}**" + (f" · {len(failed)} could not be made" if failed else "")]
    named: set[str] = set()
    for row in comparison.rows:
        if row.prediction is not None and row.backbone not in named:
            named.add(row.backbone)
            index, label, probability = row.prediction
            shared = comparison.pass_seconds.get(row.backbone, 0.0) * 1000
            lines.append(
                f"- **{row.backbone}** predicts {index}: {label} (p = {probability:.3f}); one pass through the "
                f"network, shared by its maps: {shared:.0f} ms"
            )
    reasons = dict.fromkeys(f"{cell.backbone} · {cell.plugin}: {cell.error}" for cell in failed)
    lines += [f"- ⚠️ {reason}" for reason in reasons]
    if scores:
        lines += ["", "| map | deletion AUC ↓ (random) | insertion AUC ↑ (random) |", "|---|---:|---:|"]
        for key, score in scores.items():
            lines.append(
                f"| {key} | {score.deletion_auc:.3f} ({score.random_deletion_auc:.3f}) | "
                f"{score.insertion_auc:.3f} ({score.random_insertion_auc:.3f}) |"
            )
        lines += ["", NO_VERDICT]
    return "\n".join(lines)


def cells_json(comparison: registry.Comparison, scores: dict | None = None) -> list[dict[str, Any]]:
    """Each cell as data a script can read: the combination, the class and layer used, its time or its error."""
    rows = []
    for cell in comparison.cells:
        result = cell.result
        rows.append(
            {
                "key": cell.key,
                "backbone": cell.backbone,
                "plugin": cell.plugin,
                "target_asked": cell.target,
                "layer_asked": cell.layer,
                "target": result.target if result else None,
                "label": result.label if result else None,
                "probability": None if result is None or result.probability is None else round(result.probability, 6),
                "layer": result.layer.name if result and result.layer else None,
                "depth": result.layer.depth_name if result and result.layer else None,
                "seconds": round(cell.seconds, 4),
                "untrained": bool(result and result.untrained),
                "error": cell.error,
            }
        )
        if scores and cell.key in scores:
            numbers = scores[cell.key].as_dict()
            rows[-1] |= {
                name: numbers[name]
                for name in ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc")
            }
    json.dumps(rows)  # fail here, not in the client, if anything is not plain data
    return rows
