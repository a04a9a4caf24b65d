"""The "How faithful is this map?" section under each family of heatmap methods, and the checks' one way to run
(`run_check`).

One section per family, not per method: it scores the method whose tab is open (its "Method" list follows the
tabs, and can be set by hand), with that tab's controls. Each button recomputes the map for the inputs on screen
(so the score always belongs to the map the user would see), then runs one check from the registry: deletion /
insertion, the model randomization check or the peers' metrics. A section per method made the page 2,039
components and 886 events, and Gradio's page took 21 s to start on a 2-core machine (9 s without them). Scripts
call the checks through one documented endpoint, `/trust`, with a `method` argument (app/script_api.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

import registry
from app import controls, handlers, layer_lists
from app.page import Page, Results, TabParts
from app.requests import gpu, lane
from registry import Param, Plugin
from registry.analysis import CLEAR_SPREADS, DEFAULT_STEPS, MIN_SEEDS, CurveTest
from registry.evaluation import PEER_METRICS, peer_metrics
from registry.imaging import shorten

log = logging.getLogger("cnnlens")

CHEAP_PEERS = ("average_drop", "increase_in_confidence")  # one pass each; ROAD and ARCC impute the image many times

HOW_TO_READ_FAITHFULNESS = """**How to read it.** *Deletion* removes the pixels the map ranks highest first (they become
the dataset's mean colour) and follows the class probability: if the map points at what the model
uses, the probability collapses early and the **area under the curve is low**. *Insertion* reveals the
same pixels onto a blurred copy: a faithful map makes the probability **rise early (high area)**. The
grey band is what random maps score (mean ± spread over seeds; smooth random regions, like real maps),
the dashed line the map's own reverse order. The verdict "beats random" is given only when, on both curves,
the map scores more than two spreads better than the random maps and better than its own reverse order;
otherwise the section says which of these tests the map fails, and the map should not be trusted to rank pixels."""

HOW_TO_READ_SANITY = """**How to read it.** The model's weights are re-initialised from the top down (classifier,
then head, then each stage), cumulatively, and the map is recomputed for the same class after each
step. A map that explains *the model* must change: its **rank correlation** and **SSIM** with the
original should fall towards 0 once the top is random. A map that stays alike on a random model
(Adebayo et al. 2018 found this for Guided Backprop) shows the image's edges and contrast, not what
the network learnt."""

HOW_TO_READ_PEERS = """**The peers' metrics** (each equal to pytorch-grad-cam's on the same map). *Average drop*
(Grad-CAM++): how much of the class confidence is lost when the image is multiplied by the map, as a share of it
(**lower is better**); *increase in confidence*: whether that image scores higher than the whole one. *ROAD*
(Rong et al. 2022): removes the pixels the map ranks highest (then lowest) at 10 … 90 %, fills them in from their
neighbours with a little noise, and gives half the gap between the two mean confidence changes (**higher is
better**, at most 0.5). *ARCC*: the harmonic mean of *coherency* (the map drawn again on the image times the map
looks the same), 1 − *complexity* (the map's mean value: a map that lights less is simpler) and ROAD."""


@dataclass(frozen=True)
class Scorable:
    """A heatmap method's tab, as its family's trust section reads it."""

    plugin: Plugin
    tab: gr.Tab
    layer: Any  # the tab's layer list, or None
    knobs: tuple[Any, ...]  # the tab's controls, in `plugin.all_params` order


def build_trust_section(family: str, scorables: list[Scorable], page: Page) -> TabParts:
    """Lay out the family's section under its method tabs and wire it; returns its results (emptied when the method,
    the page or the method's controls change)."""
    plugins = [item.plugin for item in scorables]
    with gr.Accordion("How faithful is this map?", open=False, elem_id=f"trust-{family}"):
        with gr.Row():
            with gr.Column(scale=2):
                method = gr.Dropdown(
                    choices=[(plugin.title, plugin.name) for plugin in plugins],
                    value=plugins[0].name,
                    label="Method",
                    info="The open tab's method, scored with that tab's settings.",
                    elem_id=f"trust-method-{family}",
                )
                steps = steps_slider(label="Steps", info="How many fractions of the pixels to delete or reveal.")
                baseline = gr.Dropdown(
                    choices=list(registry.BASELINES),
                    value="blur",
                    label="Insertion starts from",
                    info="What unrevealed pixels show: a blurred copy (as RISE), mid-grey, or zeros.",
                )
                score_button = gr.Button("Score deletion / insertion", elem_id=f"faithfulness-run-{family}")
                check_button = gr.Button("Run the randomization check", elem_id=f"sanity-run-{family}")
                chosen = gr.CheckboxGroup(
                    choices=list(PEER_METRICS),
                    value=list(CHEAP_PEERS),
                    label="The peers' metrics",
                    info="ROAD and ARCC fill in image regions many times: seconds each on a CPU.",
                    elem_id=f"peers-metrics-{family}",
                )
                peers_button = gr.Button("Score the peers' metrics", elem_id=f"peers-run-{family}")
                stop = controls.stop_button(f"trust-stop-{family}")
            with gr.Column(scale=5):
                plot = controls.result_picture(
                    "Deletion and insertion curves",
                    f"faithfulness-plot-{family}",
                    "The class probability as the map's most important pixels are removed, then revealed, beside "
                    "random maps and the inverse order; the text beside it gives the areas",
                )
                numbers = gr.Markdown(elem_id=f"faithfulness-info-{family}", label="summary")
                strip = controls.result_picture(
                    "Map after each randomization step",
                    f"sanity-strip-{family}",
                    "The map after each step of re-initialising the model's weights from the top down, each "
                    "captioned with its similarity to the original",
                )
                table = gr.Markdown(elem_id=f"sanity-info-{family}", label="summary")
                peers = gr.Markdown(elem_id=f"peers-info-{family}", label="summary")
                data = gr.JSON(label="Numbers", open=False)
        gr.Markdown(HOW_TO_READ_FAITHFULNESS + "\n\n" + HOW_TO_READ_SANITY + "\n\n" + HOW_TO_READ_PEERS)
    for item in scorables:  # the open tab's method is the one scored (in the browser: no request)
        item.tab.select(
            None, inputs=None, outputs=method, js=f"() => {json.dumps(item.plugin.name)}", api_visibility="private"
        )
    own = [control for item in scorables for control in (_layer_or_none(item.layer), *item.knobs)]
    inputs = [method, page.image, page.backbone_name, page.target, page.allow_random, *own]
    events = [
        button.click(
            gpu(section_handler(plugins, check), heavy=True),
            inputs=[*inputs, *settings],
            outputs=shown,
            show_progress_on=shown[0],  # one progress place: what the check is drawing
            api_visibility="private",  # scripts: /trust (app/script_api.py)
            **lane(True),
        )
        for button, check, settings, shown in (
            (score_button, "faithfulness", [steps, baseline], [plot, numbers, data]),
            (check_button, "sanity_check", [], [strip, table, data]),
            (peers_button, "peer_metrics", [chosen], [peers, data]),
        )
    ]
    controls.stops(stop, events)
    reads = (method, page.image, page.backbone_name, page.allow_random, page.target)
    reads += tuple(control for item in scorables for control in ((item.layer,) if item.layer else ()) + item.knobs)
    return TabParts(results=(Results(shown=(plot, numbers, strip, table, peers, data), reads=reads),))


def _layer_or_none(layer: Any) -> Any:
    """A method without a layer list sends None in its place (a fresh State: Gradio sends each input's value)."""
    return layer if layer is not None else gr.State(None)


def steps_slider(**kwargs: Any) -> gr.Slider:
    """The deletion / insertion score's number of steps, checked as a whole number from 4 to 50."""
    param = Param("score_steps", "int", DEFAULT_STEPS, minimum=4, maximum=50, label="Steps")
    return controls.checked(
        controls.Slider, param, minimum=4, maximum=50, value=DEFAULT_STEPS, step=1, precision=0, **kwargs
    )


CHECKS = ("faithfulness", "sanity_check", "peer_metrics")  # /trust: deletion / insertion, randomization, peers


def section_handler(plugins: list[Plugin], check: str):
    """A section's event for one check: (method, image, backbone, target, allow_untrained, then each method's layer
    and controls in turn, then the check's own settings: `steps, baseline` for faithfulness, `metrics` for the
    peers'). Only the chosen method's values are read."""
    spans, start = {}, 0
    for plugin in plugins:
        spans[plugin.name] = (plugin, start, start + 1 + len(plugin.all_params))
        start = spans[plugin.name][2]

    def handle(method, image, backbone, target, allow_untrained, *values, progress=gr.Progress()):
        if method not in spans:
            raise handlers.user_error(f"Choose a method to score ({', '.join(spans)}); got {shorten(method)}.")
        plugin, first, last = spans[method]
        layer, *knobs = values[first:last]
        chosen = dict(zip([param.name for param in plugin.all_params], knobs))
        settings = values[start:]
        inputs = (image, backbone, target if plugin.needs_target else None, allow_untrained, layer)
        if check == "faithfulness":
            steps, baseline = settings
            return run_check(plugin, check, *inputs, chosen, progress, steps=steps, baseline=baseline)
        if check == "peer_metrics":
            _, text, data = run_check(plugin, check, *inputs, chosen, progress, metrics=settings[0])
            return text, data
        return run_check(plugin, check, *inputs, chosen, progress)

    return handle


def run_check(
    plugin: Plugin,
    check: str,
    image,
    backbone_name,
    target,
    allow_untrained,
    layer,
    controls: dict[str, Any],
    progress,
    steps: Any = DEFAULT_STEPS,
    baseline: Any = "blur",
    metrics: Any = PEER_METRICS,
) -> tuple[Any, str, dict[str, Any]]:
    """One trust check of `plugin`'s map for these inputs, as the tab and `/trust` run it: (figure, text, data).
    The map is recomputed first, so the score belongs to the map the inputs give; our own checks' errors become
    sentences."""
    if check not in CHECKS:
        raise handlers.user_error(f"check must be one of {', '.join(CHECKS)}; got {shorten(check)}.")
    title = {
        "faithfulness": "The deletion / insertion score",
        "sanity_check": "The randomization check",
        "peer_metrics": "The peers' metrics",
    }[check]
    if check == "peer_metrics" and (not isinstance(metrics, (list, tuple)) or not metrics):
        raise handlers.user_error(f"Tick at least one of the peers' metrics ({', '.join(PEER_METRICS)}).")
    loaded, picture, result = _map(plugin, image, backbone_name, target, allow_untrained, layer, controls, progress)
    try:
        if check == "faithfulness":
            found = registry.faithfulness(
                loaded,
                picture,
                result,
                steps=_whole(steps, "Steps"),
                baseline=baseline,
                progress=_adapter(progress, "Deletion and insertion"),
            )
            return found.figure, describe_faithfulness(found), found.as_dict()
        if check == "peer_metrics":
            progress(0.5, desc="The peers' metrics")
            layer_name = result.layer.name if result.layer else None
            scores = peer_metrics(loaded, picture, plugin.name, result.target, layer_name, list(metrics), controls)
            return None, describe_peers(scores, loaded.labels), scores
        randomized = registry.sanity_check(
            loaded,
            picture,
            plugin,
            target=result.target,
            layer=result.layer.name if result.layer else None,
            progress=_adapter(progress, "Randomization check"),
            **controls,
        )
        return randomized.figure, describe_sanity(randomized), randomized.as_dict()
    except gr.Error:
        raise
    except ValueError as exc:
        raise handlers.user_error(str(exc)) from None
    except Exception as exc:
        log.exception("%s of %s failed on %s", title, plugin.name, loaded.name)
        raise gr.Error(
            f"{title} of {plugin.title} failed on {loaded.name}: {type(exc).__name__}: "
            f"{handlers.without_paths(str(exc))}"
        ) from None


def describe_faithfulness(score: registry.FaithfulnessScore) -> str:
    """The numbers under the plot, each with the two scores it must beat, then the verdict: "beats random" only when
    every test passes; otherwise which tests fail, in words (registry's `FaithfulnessScore.verdict`)."""
    rows = [
        f"**{score.plugin}** explaining **{score.target}: {score.label}**, {score.steps} steps, "
        f"{score.seeds} random maps, {score.seconds:.1f} s",
        "",
        "| curve | this map | random maps (mean ± spread) | reverse order | against random | against reverse |",
        "|---|---:|---:|---:|---|---|",
    ]
    verdict = score.verdict
    for test in verdict.tests:
        better = "lower" if test.mode == "deletion" else "higher"
        rows.append(
            f"| {test.mode} AUC ({better} is better) | **{test.mine:.3f}** | {test.random:.3f} ± {test.spread:.3f} | "
            f"{test.inverse:.3f} | {_against_random(test)} | {_against_reverse(test)} |"
        )
    rows.append("")
    if verdict.beats_random:
        rows.append(
            f"**Verdict: this map beats random.** On both curves it scores more than {CLEAR_SPREADS:g} spreads better "
            f"than {score.seeds} random maps, and better than its own reverse order."
        )
    else:
        rows.append(
            "**No verdict: this map is not shown to be better than random.** It fails "
            + ("this test:" if len(verdict.failures) == 1 else f"{len(verdict.failures)} tests:")
        )
        rows += [f"- {sentence}." for sentence in verdict.failures]
    if score.stopped:  # scoring cut short keeps its finished curves, and says so
        rows += ["", f"⏱ **Stopped early:** {score.stopped}"]
    return "\n".join(rows)


PEER_READING = {  # column: (what it is, which way is better)
    "average_drop": ("average drop (share of the confidence lost)", "lower"),
    "increase_in_confidence": ("increase in confidence", "yes is better"),
    "road": ("ROAD (LeRF − MoRF) / 2", "higher"),
    "road_morf": ("ROAD: change removing the most relevant first", "lower"),
    "road_lerf": ("ROAD: change removing the least relevant first", "higher"),
    "arcc": ("ARCC", "higher"),
    "complexity": ("ARCC: complexity", "lower"),
    "coherency": ("ARCC: coherency", "higher"),
}


def describe_peers(scores: dict[str, Any], labels: list[str]) -> str:
    """The table of the peers' metrics of one map, each with which way is better."""
    rows = [
        f"**{scores['method']}** explaining **{scores['target']}: {labels[scores['target']]}** "
        f"(confidence {scores['probability']:.3f})",
        "",
        "| metric | value | better |",
        "|---|---:|---|",
    ]
    for column, (what, better) in PEER_READING.items():
        if column in scores:
            value = scores[column]
            shown = ("yes" if value else "no") if isinstance(value, bool) else f"{value:.4f}"
            rows.append(f"| {what} | {shown} | {better if better.endswith('better') else better + ' is better'} |")
    return "\n".join(rows)


def _against_random(test: CurveTest) -> str:
    if test.seeds < MIN_SEEDS:
        return "too few random maps"
    if test.beats_random:
        return f"✓ {test.spreads:.1f} spreads better"
    return "✗ worse" if test.worse_than_random else f"✗ within {CLEAR_SPREADS:g} spreads"


def _against_reverse(test: CurveTest) -> str:
    if np.isnan(test.inverse):
        return "not scored"
    return "✓ better" if test.beats_inverse else "✗ not better"


def describe_sanity(check: registry.SanityCheck) -> str:
    """The table under the strip: similarity to the original after each cumulative step."""
    rows = [
        f"**{check.plugin}** explaining **{check.target}: {check.label}**"
        + (f" at `{check.layer}`" if check.layer else "")
        + f", {check.seconds:.1f} s",
        "",
        "| randomized (cumulative) | rank correlation | SSIM |",
        "|---|---:|---:|",
    ]
    for step in check.steps:
        rho = "— (flat map)" if np.isnan(step.rank_correlation) else f"{step.rank_correlation:.3f}"
        rows.append(f"| {step.randomized} | {rho} | {step.ssim:.3f} |")
    if check.stopped:  # a check cut short keeps its finished steps, and says so
        rows += ["", f"⏱ **Stopped early:** {check.stopped}; the steps above are the ones finished before."]
    return "\n".join(rows)


def _map(plugin: Plugin, image, backbone_name, target, allow_untrained, layer, values: dict[str, Any], progress):
    """The tab's map for the inputs on screen: (backbone, picture, Visualization)."""
    picture = handlers.open_image(image)
    progress(0.0, desc=f"Loading {backbone_name}")
    backbone = handlers.get_backbone(backbone_name, allow_untrained)
    chosen = handlers.parse_target(target, backbone.labels)
    try:
        result = plugin.run(
            backbone,
            picture,
            target=chosen,
            layer=layer_lists.chosen_layer(layer),
            **values,
        )
    except ValueError as exc:
        raise handlers.user_error(str(exc)) from None
    except Exception as exc:
        log.exception("plugin %s failed on %s", plugin.name, backbone.name)
        raise gr.Error(f"{plugin.title} failed on {backbone.name}: {type(exc).__name__}: {exc}") from None
    return backbone, picture, result


def _adapter(progress, what: str):
    def report(fraction: float, detail: str) -> None:
        progress(fraction, desc=f"{what}: {detail}")

    return report


def _whole(value: Any, label: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise handlers.user_error(f"{label} must be a whole number; got {shorten(value)}.") from None
    if not number.is_integer():
        raise handlers.user_error(f"{label} must be a whole number; got {shorten(value)}.")
    return int(number)
