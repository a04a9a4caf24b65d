"""The lesson of the teaching guide, as steps computed on one image and one backbone.

    rows = lesson.network_stages(backbone)                  # 1 the network, as a few stages
    filters.first_layer(backbone, image)                     # 2 the first convolution (registry/teaching/filters.py)
    step = lesson.layer_by_layer(backbone, image)           # 3 early, middle, final feature maps
    step = lesson.channel_pictures(backbone, image)         # 3 ... and what their strongest channels look for
    step = lesson.class_evidence(backbone, image, picked)   # 4 Grad-CAM for the prediction and a chosen class
    step = lesson.mistake(backbone, image)                   # 5 a sample the model gets wrong

Every step returns its picture and a "what to notice" sentence computed from this result; the
pictures come from `registry.compare`, so the lesson shows exactly what the Compare tab would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from torch import nn

from registry.analysis import (
    Comparison,
    FeatureVisSettings,
    WrongCase,
    channel_examples,
    compare,
    find_wrong_case,
    image_activations,
    visualize_channels,
)
from registry.imaging import render, sample_paths, samples
from registry.methods._discovery import get_plugin
from registry.methods._plugin import DEPTHS, Progress, report
from registry.methods._request import check_request, in_lane
from registry.methods._runner import check_applies
from registry.methods._shared_pass import SharedPass
from registry.models import Backbone, LayerInfo
from registry.teaching import _describe as describe

__all__ = [
    "DEPTH_LESSONS",
    "NOT_IMAGENET",
    "Stage",
    "Step",
    "channel_pictures",
    "class_evidence",
    "depth_lesson",
    "find_mistake",
    "layer_by_layer",
    "mistake",
    "network_stages",
    "stages_markdown",
    "stages_sentence",
    "wrong_choices",
]


# What a layer at each depth tends to respond to, said to a student under every map of a layer.
DEPTH_LESSONS = {
    "early": "early layer: edges, colours and simple textures",
    "middle": "middle layer: repeated patterns, textures and object parts",
    "final": "final layer: whole objects and the evidence for a class",
}


_TILE = 160  # pixels per picture in the grid of channel pictures


def depth_lesson(layer: LayerInfo) -> str:
    """What a layer at this depth tends to respond to, in words."""
    return DEPTH_LESSONS[layer.depth_name]


@dataclass(frozen=True)
class Stage:
    """One row of the network's table: a stage (or the input, head or classifier) and its output."""

    name: str
    module: str
    resolution: str
    channels: int
    depth: str
    convolutions: int


@dataclass
class Step:
    """A computed step: its picture, the sentence about it, and the comparison it was drawn from."""

    picture: Image.Image
    sentence: str
    comparison: Comparison | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def network_stages(backbone: Backbone) -> list[Stage]:
    """The backbone as a handful of rows: input, each timm stage (with the convolutions it holds), head, classifier."""
    modules = dict(backbone.model.named_modules())
    size = backbone.data_config["input_size"]
    rows = [Stage("input", "—", f"{size[1]}×{size[2]}", size[0], "the image", 0)]
    staged = [layer for layer in backbone.layers if layer.stage is not None] or _by_resolution(backbone)
    ends = {layer.name for layer in staged}
    convolutions = 0
    for layer in backbone.layers:  # execution order: each convolution belongs to the next stage output
        convolutions += isinstance(modules.get(layer.name), nn.modules.conv._ConvNd)
        if layer.name in ends:
            rows.append(
                Stage(
                    f"stage {len(rows)}",
                    layer.name,
                    f"{layer.height}×{layer.width}",
                    layer.channels,
                    layer.depth_name,
                    convolutions,
                )
            )
            convolutions = 0
    head = backbone.layer_info(backbone.default_layer)
    if head is not None and head.name not in ends:
        rows.append(
            Stage("head", head.name, f"{head.height}×{head.width}", head.channels, head.depth_name, convolutions)
        )
    rows.append(Stage("classifier", "—", "1×1", backbone.num_classes, "the decision", 0))
    return rows


def _by_resolution(backbone: Backbone) -> list:
    """Stages for a model timm gives no feature_info: the last layer at each resolution."""
    last = {}
    for layer in backbone.layers:
        last[(layer.height, layer.width)] = layer
    return list(last.values())


def stages_markdown(rows: list[Stage]) -> str:
    """The rows as a Markdown table."""
    lines = ["| part | module | resolution | channels | depth | convolutions |", "|---|---|---|---:|---|---:|"]
    lines += [
        f"| {r.name} | `{r.module}` | {r.resolution} | {r.channels} | {r.depth} | {r.convolutions or '—'} |"
        for r in rows
    ]
    return "\n".join(lines)


def stages_sentence(backbone: Backbone, rows: list[Stage]) -> str:
    """What to notice in the table: how many layers become how few stages, and the trade of space for channels."""
    inner = [row for row in rows if row.name.startswith("stage") or row.name == "head"]
    total = sum(row.convolutions for row in inner)
    first, last = inner[0], inner[-1]
    parameters = sum(p.numel() for p in backbone.model.parameters())
    stages = sum(row.name.startswith("stage") for row in inner)
    return (
        f"{backbone.name} runs {total} convolutions ({parameters / 1e6:.1f} M weights), but they fall into "
        f"{stages} stages{' and a head' if stages < len(inner) else ''}: the map shrinks from {first.resolution} to "
        f"{last.resolution} while the channels grow "
        f"from {first.channels} to {last.channels}. Each stage trades *where* for *what*: fewer positions, more kinds "
        f"of feature. The {first.depth} stages see small patches of the image; the {last.depth} one sees it whole."
    )


def layer_by_layer(backbone: Backbone, image: Any) -> Step:
    """Feature maps at an early, a middle and the final stage (a `registry.compare` grid), and how spread out
    each is."""
    comparison = compare(image, backbones=[backbone], plugins=["feature_maps"], layers=list(DEPTHS))
    cells = [comparison.cell(backbone.name, "feature_maps", None, depth) for depth in DEPTHS]
    failed = next((cell.error for cell in cells if cell.error), None)
    if failed:
        raise ValueError(failed)
    names = [cell.result.layer.name for cell in cells]
    x, _ = backbone.prepare(image)
    with backbone.lock:  # one more forward, no gradients, for the numbers the pictures do not carry
        shared = SharedPass(backbone, x, layers=names)
        spread = [describe.concentration(shared.activations(name)[0].float().cpu().numpy()) for name in names]
    parts = [
        f"{depth} `{cell.result.layer.name}` ({cell.result.layer.height}×{cell.result.layer.width}, "
        f"{cell.result.layer.channels} channels): half its response sits on {describe.percent(value)} of the positions"
        for depth, cell, value in zip(DEPTHS, cells, spread)
    ]
    trend = (
        "the response gathers on fewer places as depth grows, around what the network will name"
        if spread[-1] < spread[0]
        else "here the final response is not more concentrated than the early one"
    )
    pixels = [backbone.data_config["input_size"][2] / cell.result.layer.width for cell in cells]
    sentence = (
        f"{'; '.join(parts)}. Each final-layer cell summarises about {pixels[-1]:.0f}×{pixels[-1]:.0f} pixels, "
        f"an early one {pixels[0]:.0f}×{pixels[0]:.0f}: {trend}."
    )
    return Step(
        comparison.figure,
        _capitalised(sentence),
        comparison,
        {"concentration": dict(zip(DEPTHS, spread)), "layers": dict(zip(DEPTHS, names))},
    )


def channel_pictures(
    backbone: Backbone,
    image: Any,
    per_stage: int = 2,
    settings: FeatureVisSettings | None = None,
    progress: Progress | None = None,
) -> Step:
    """What the strongest channels (on `image`) of the early, middle and final stage look for: each one's
    optimised picture beside the real patch that excites it most, and a sentence measured on this network: how
    much of the image a unit of each stage sees, and on how many of the bundled samples its channels fire.

    The pictures are `registry.visualize_channels`'s (cached on disk, so the plugin's tab and a Space's pre-warm
    share them); `progress` hears every optimisation step, and the request's budget and cancel apply.
    """
    backbone = in_lane(backbone)  # a heavy request's own copy of the modules: light work never waits for it
    if backbone.channels not in (1, 3):
        raise ValueError(f"{backbone.name} takes {backbone.channels}-channel input, which has no picture to show.")
    names = [backbone.suggested_layer(depth) for depth in DEPTHS]
    if None in names:
        raise ValueError(f"{backbone.name} has no stages with a spatial map, so there are no channels to picture.")
    settings = settings or FeatureVisSettings()
    x, view = backbone.prepare(image)
    with backbone.lock:
        shared = SharedPass(backbone, x, layers=names)
        maps = {name: shared.activations(name)[0].detach().float().cpu() for name in names}  # (C, h, w) each
    strongest = [maps[name].flatten(1).mean(1).argsort(descending=True)[:per_stage].tolist() for name in names]
    files = sample_paths()
    total = len(names) * settings.steps
    tiles, captions, fields, breadth = [], [], {}, {}
    for number, (depth, name, chosen) in enumerate(zip(DEPTHS, names, strongest)):

        def step(done: int, steps: int, before: int = number * settings.steps, depth: str = depth) -> None:
            report(progress, before + done, total, f"What the {depth} channels look for: step {done} of {steps}")
            check_request("Layer by layer", before + done, total)

        with backbone.lock:
            pictures = visualize_channels(backbone, name, chosen, settings, step=step)
            known = {"your image": maps[name]}  # the shared pass ran this image already
            found = channel_examples(backbone, name, chosen, {**files, "your image": view}, 1, known)
            count = backbone.layer_info(name).channels
            peaks = image_activations(backbone, name, range(count), files, statistic="peak")  # (samples, C)
        fields[depth] = found[0][0].box[2] - found[0][0].box[0]
        best = peaks.max(0)
        alive = best > 0
        breadth[depth] = float(np.median((peaks[:, alive] >= 0.5 * best[alive]).sum(0))) if alive.any() else 0.0
        for channel, picture, examples in zip(chosen, pictures, found):
            tiles += [Image.fromarray(picture).resize((_TILE, _TILE), Image.Resampling.LANCZOS)]
            tiles += [examples[0].patch.resize((_TILE, _TILE), Image.Resampling.BILINEAR)]
            captions += [f"{depth} #{channel}", examples[0].source]
    return Step(
        render.grid(tiles, captions, columns=2 * per_stage),
        _capitalised(_channels_sentence(backbone, names, fields, breadth, len(files))),
        None,
        {
            "layers": dict(zip(DEPTHS, names)),
            "channels": dict(zip(DEPTHS, strongest)),
            "field": fields,
            "breadth": breadth,
        },
    )


def _channels_sentence(
    backbone: Backbone, names: list[str], fields: dict[str, int], breadth: dict[str, float], samples_count: int
) -> str:
    """The pictures' lesson in numbers, and where this network departs from the textbook's three lines."""
    side = min(backbone.data_config["input_size"][1:])

    def sees(depth: str) -> str:
        return f"the whole {side}-pixel image" if fields[depth] >= 0.9 * side else f"a {fields[depth]}-pixel square"

    early, middle, final = (breadth[depth] for depth in DEPTHS)
    said = [f"{depth} channels (`{name}`) see {sees(depth)}" for depth, name in zip(DEPTHS, names)]
    counts = f"{early:g}, {middle:g} and {final:g} of the {samples_count} samples"
    if final >= early:
        verdict = (
            "Here the final channels answer as many pictures as the early ones: on this network (and these "
            "samples) the textbook's 'edges, then shapes, then objects' does not show."
        )
    elif middle >= early:
        verdict = (
            "Small patterns are in every picture, whole objects only in some; but on this network the middle "
            "channels are still as general as the early ones: they become particular only at the end, not step by "
            "step as the textbook has it."
        )
    else:
        verdict = (
            "Small patterns are in every picture, whole objects only in some: the deeper the channel, the more of "
            "the image it sees and the fewer pictures it answers to, as the textbook says."
        )
    return (
        f"{'; '.join(said)}. A typical channel of each fires strongly (its peak at least half its best) on {counts}. "
        f"{verdict}"
    )


def class_evidence(backbone: Backbone, image: Any, picked: int | None = None) -> Step:
    """Grad-CAM for the predicted class and `picked` (default: the runner-up) side by side, one colour scale."""
    check_applies(get_plugin("gradcam"), backbone)  # no classifier head (or no Grad-CAM): said in words
    x, _ = backbone.prepare(image)
    ranking = backbone.ranked(backbone.probabilities(x), k=backbone.num_classes)
    predicted = ranking[0][0]
    other = picked if picked is not None and picked != predicted else ranking[1][0]
    comparison = compare(image, backbones=[backbone], plugins=["gradcam"], targets=[None, other])
    maps = [comparison.cell(backbone.name, "gradcam", target).result for target in (None, other)]
    rank = {index: position + 1 for position, (index, _label, _p) in enumerate(ranking)}
    described = [
        f"for {m.target} {m.label} (p = {m.probability:.2f}, ranked {rank[m.target]}) the heat lies in "
        f"{describe.place(m.heatmap)} and covers {describe.percent(describe.share(describe.hot_mask(m.heatmap)))} of "
        "the image"
        for m in maps
    ]
    together = describe.overlap(maps[0].heatmap, maps[1].heatmap)
    strength = float(maps[1].heatmap.max()) / max(float(maps[0].heatmap.max()), 1e-12)
    meaning = (
        "the model finds evidence for both in the same place, so the two classes compete for it"
        if together >= 0.5
        else "the evidence for each class sits in its own part of the image"
    )
    sentence = (
        f"In Grad-CAM, {described[0]}; {described[1]}. The hot regions overlap by {describe.percent(together)}: "
        f"{meaning}. On one colour scale, the second map peaks at {describe.percent(strength)} of the first."
    )
    return Step(comparison.figure, sentence, comparison, {"overlap": together, "targets": [m.target for m in maps]})


NOT_IMAGENET = (
    "This step needs a model with ImageNet's 1,000 classes, because the bundled samples are labelled with them; "
    "{name} has its own {count} classes. Open an image your model gets wrong, then compare its prediction with the "
    "true class in Compare (the 'Correct vs incorrect' preset)."
)


def find_mistake(backbone: Backbone, image: Any = None, chosen: str | None = None) -> WrongCase | None:
    """A labelled sample this backbone gets wrong (registry.analysis.find_wrong_case): the sample named `chosen`
    (a file stem, e.g. "clock"), else `image` itself if it is one, else the first in SOURCES.md order."""
    check_applies(get_plugin("gradcam"), backbone)
    if not backbone.imagenet:
        raise ValueError(NOT_IMAGENET.format(name=backbone.name, count=backbone.num_classes))
    if chosen:
        sample = samples.labelled_samples().get(chosen)
        if sample is None or not sample.classes:
            raise ValueError(f"{chosen!r} is not a labelled sample; choose one of {', '.join(wrong_choices())}.")
        case = find_wrong_case(backbone, runner_up=False, among=[sample])
        if case is None:
            top = backbone.predict(sample.path, k=1)[0]
            raise ValueError(
                f"{backbone.name} gets {sample.file} right (it says {top[0]} {top[1].split(',')[0]}); choose a sample "
                "it gets wrong, or leave the choice empty to let the lesson find one."
            )
        return case
    return find_wrong_case(backbone, image, runner_up=False)


def wrong_choices() -> list[str]:
    """The samples step 5 may be asked to explain: those with ImageNet classes, by stem."""
    return [name for name, sample in samples.labelled_samples().items() if sample.classes]


def mistake(backbone: Backbone, image: Any = None, chosen: str | None = None) -> Step:
    """Correct vs incorrect: a sample the model gets wrong (`chosen`, or found), Grad-CAM for its prediction and its
    true class side by side."""
    found = find_mistake(backbone, image, chosen)
    if found is None:
        raise ValueError(f"{backbone.name} gets every labelled sample right; use 'Make it fail' below to make it err.")
    sample, true = found.sample, found.true
    comparison = compare(sample.path, backbones=[backbone], plugins=["gradcam"], targets=[None, true])
    said, truth = (comparison.cell(backbone.name, "gradcam", target).result for target in (None, true))
    together = describe.overlap(said.heatmap, truth.heatmap)
    meaning = (
        "it looks at the right object but reads it as something else"
        if together >= 0.5
        else "the evidence it used lies elsewhere than the evidence for the true class"
    )
    sentence = (
        f"{sample.file} shows {sample.what}. The model says {said.target} {said.label} (p = {said.probability:.2f}); "
        f"the truth is {truth.target} {truth.label} (p = {truth.probability:.2f}, ranked {found.rank}). "
        f"Grad-CAM for its answer lies in {describe.place(said.heatmap)} "
        f"({describe.percent(describe.share(describe.hot_mask(said.heatmap)))} "
        f"of the image), for the true class in {describe.place(truth.heatmap)} "
        f"({describe.percent(describe.share(describe.hot_mask(truth.heatmap)))}); they overlap by "
        f"{describe.percent(together)}: {meaning}."
    )
    return Step(
        comparison.figure,
        sentence,
        comparison,
        {"sample": sample.name, "predicted": said.target, "true": true, "overlap": together},
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
