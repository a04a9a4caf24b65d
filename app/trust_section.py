"""The "How faithful is this map?" section under every heatmap tab, and the checks' one way to run (`run_check`).

Each button recomputes the tab's map for the inputs on screen (so the score always belongs to the
map the user would see), then runs one check from the registry: deletion / insertion or the model
randomization check. Scripts call them through one documented endpoint, `/trust`, with a `method`
argument (app/script_api.py); the tabs' own events (`/<plugin>_faithfulness`, `/<plugin>_sanity_check`)
stay callable but off the API page, so the page does not grow with the registry.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import gradio as gr
import numpy as np

import registry
from app import controls, handlers, layer_lists
from app.requests import gpu, lane
from registry import Param, Plugin
from registry.analysis import CLEAR_SPREADS, DEFAULT_STEPS, MIN_SEEDS, CurveTest
from registry.evaluation import PEER_METRICS, peer_metrics
from registry.imaging import shorten

log = logging.getLogger("cnnlens")

FAITHFULNESS_SUFFIX, SANITY_SUFFIX = "_faithfulness", "_sanity_check"  # each method's check endpoints: /gradcam_…
PEERS_SUFFIX = "_peer_metrics"
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


def build_trust_section(plugin: Plugin, inputs: list) -> list:
    """Lay out the section inside the current tab; `inputs` are the tab's run inputs. Returns its outputs."""
    name = plugin.name
    with gr.Accordion("How faithful is this map?", open=False, elem_id=f"trust-{name}"):
        with gr.Row():
            with gr.Column(scale=2):
                steps = steps_slider(label="Steps", info="How many fractions of the pixels to delete or reveal.")
                baseline = gr.Dropdown(
                    choices=list(registry.BASELINES),
                    value="blur",
                    label="Insertion starts from",
                    info="What unrevealed pixels show: a blurred copy (as RISE), mid-grey, or zeros.",
                )
                score_button = gr.Button("Score deletion / insertion", elem_id=f"faithfulness-run-{name}")
                check_button = gr.Button("Run the randomization check", elem_id=f"sanity-run-{name}")
                chosen = gr.CheckboxGroup(
                    choices=list(PEER_METRICS),
                    value=list(CHEAP_PEERS),
                    label="The peers' metrics",
                    info="ROAD and ARCC fill in image regions many times: seconds each on a CPU.",
                    elem_id=f"peers-metrics-{name}",
                )
                peers_button = gr.Button("Score the peers' metrics", elem_id=f"peers-run-{name}")
                stop = controls.stop_button(f"trust-stop-{name}")
            with gr.Column(scale=5):
                plot = controls.result_picture(
                    "Deletion and insertion curves",
                    f"faithfulness-plot-{name}",
                    "The class probability as the map's most important pixels are removed, then revealed, beside "
                    "random maps and the inverse order; the text beside it gives the areas",
                )
                numbers = gr.Markdown(elem_id=f"faithfulness-info-{name}", label="summary")
                strip = controls.result_picture(
                    "Map after each randomization step",
                    f"sanity-strip-{name}",
                    "The map after each step of re-initialising the model's weights from the top down, each "
                    "captioned with its similarity to the original",
                )
                table = gr.Markdown(elem_id=f"sanity-info-{name}", label="summary")
                peers = gr.Markdown(elem_id=f"peers-info-{name}", label="summary")
                data = gr.JSON(label="Numbers", open=False)
        gr.Markdown(HOW_TO_READ_FAITHFULNESS + "\n\n" + HOW_TO_READ_SANITY + "\n\n" + HOW_TO_READ_PEERS)
    scoring = score_button.click(
        gpu(faithfulness_handler(plugin), heavy=True),
        inputs=[*inputs, steps, baseline],
        outputs=[plot, numbers, data],
        show_progress_on=plot,  # one progress place: the curves it is drawing
        api_name=f"{name}{FAITHFULNESS_SUFFIX}",
        api_visibility="undocumented",  # scripts: /trust (app/script_api.py)
        **lane(True),
    )
    checking = check_button.click(
        gpu(sanity_handler(plugin), heavy=True),
        inputs=inputs,
        outputs=[strip, table, data],
        show_progress_on=strip,
        api_name=f"{name}{SANITY_SUFFIX}",
        api_visibility="undocumented",
        **lane(True),
    )
    comparing = peers_button.click(
        gpu(peers_handler(plugin), heavy=True),
        inputs=[*inputs, chosen],
        outputs=[peers, data],
        show_progress_on=peers,
        api_name=f"{name}{PEERS_SUFFIX}",
        api_visibility="undocumented",
        **lane(True),
    )
    controls.stops(stop, [scoring, checking, comparing])
    return [plot, numbers, strip, table, peers, data]


def steps_slider(**kwargs: Any) -> gr.Slider:
    """The deletion / insertion score's number of steps, checked as a whole number from 4 to 50."""
    param = Param("score_steps", "int", DEFAULT_STEPS, minimum=4, maximum=50, label="Steps")
    return controls.checked(
        controls.Slider, param, minimum=4, maximum=50, value=DEFAULT_STEPS, step=1, precision=0, **kwargs
    )


CHECKS = ("faithfulness", "sanity_check", "peer_metrics")  # /trust: deletion / insertion, randomization, peers


def faithfulness_handler(plugin: Plugin):
    """The tab's faithfulness event (undocumented `/<plugin>_faithfulness`): the tab's inputs, then `score_steps`
    and `score_baseline` (named apart from any plugin parameter)."""

    def handle(image, backbone, target, allow_untrained, layer, *values, progress=gr.Progress()):
        controls, (steps, baseline) = _split(plugin, values)
        inputs = (image, backbone, target, allow_untrained, layer)
        return run_check(plugin, "faithfulness", *inputs, controls, progress, steps=steps, baseline=baseline)

    extra = [
        inspect.Parameter("score_steps", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=DEFAULT_STEPS),
        inspect.Parameter("score_baseline", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="blur"),
    ]
    return _named(handle, plugin, extra)


def sanity_handler(plugin: Plugin):
    """The tab's randomization event (undocumented `/<plugin>_sanity_check`): the tab's inputs."""

    def handle(image, backbone, target, allow_untrained, layer, *values, progress=gr.Progress()):
        controls, _ = _split(plugin, values)
        return run_check(plugin, "sanity_check", image, backbone, target, allow_untrained, layer, controls, progress)

    return _named(handle, plugin, [])


def peers_handler(plugin: Plugin):
    """The tab's peer metrics event (undocumented `/<plugin>_peer_metrics`): the tab's inputs, then `peer_metrics`
    (the names ticked); (the table, the numbers)."""

    def handle(image, backbone, target, allow_untrained, layer, *values, progress=gr.Progress()):
        controls, (names,) = _split(plugin, values)
        inputs = (image, backbone, target, allow_untrained, layer)
        _, text, data = run_check(plugin, "peer_metrics", *inputs, controls, progress, metrics=names)
        return text, data

    extra = [inspect.Parameter("peer_metrics", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=list(CHEAP_PEERS))]
    return _named(handle, plugin, extra)


def _split(plugin: Plugin, values: tuple) -> tuple[dict[str, Any], tuple]:
    """A tab event's trailing values: the plugin's controls by name, then the check's own settings."""
    names = [param.name for param in plugin.all_params]
    return dict(zip(names, values[: len(names)])), tuple(values[len(names) :])


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


def _named(handle, plugin: Plugin, extra: list[inspect.Parameter]):
    """Give the event function a signature naming each input, so API callers see real names."""
    fixed = list(inspect.signature(handle).parameters.values())
    positional = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in fixed[:5]]
    controls = [
        inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default) for p in plugin.all_params
    ]
    handle.__signature__ = inspect.Signature(positional + controls + extra + [fixed[-1]])
    return handle
