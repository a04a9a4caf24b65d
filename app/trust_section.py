"""The "How faithful is this map?" section under every heatmap tab, and its two API endpoints.

Each button recomputes the tab's map for the inputs on screen (so the score always belongs to the
map the user would see), then runs one check from the registry: deletion / insertion
(`/<plugin>_faithfulness`) or the model randomization check (`/<plugin>_sanity_check`). Each
endpoint takes the tab's own inputs plus the check's settings, so `view_api` lists exactly what
each method accepts.
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
from registry.analysis import DEFAULT_STEPS
from registry.imaging import shorten

log = logging.getLogger("cnnlens")

FAITHFULNESS_SUFFIX, SANITY_SUFFIX = "_faithfulness", "_sanity_check"  # each method's check endpoints: /gradcam_…

HOW_TO_READ_FAITHFULNESS = """**How to read it.** *Deletion* removes the pixels the map ranks highest first (they become
the dataset's mean colour) and follows the class probability: if the map points at what the model
uses, the probability collapses early and the **area under the curve is low**. *Insertion* reveals the
same pixels onto a blurred copy: a faithful map makes the probability **rise early (high area)**. The
grey band is what random maps score (mean ± spread over seeds; smooth random regions, like real maps),
the dashed line the map's own reverse order. A map is only informative where it clearly beats the band."""

HOW_TO_READ_SANITY = """**How to read it.** The model's weights are re-initialised from the top down (classifier,
then head, then each stage), cumulatively, and the map is recomputed for the same class after each
step. A map that explains *the model* must change: its **rank correlation** and **SSIM** with the
original should fall towards 0 once the top is random. A map that stays alike on a random model
(Adebayo et al. 2018 found this for Guided Backprop) shows the image's edges and contrast, not what
the network learnt."""


def build_trust_section(plugin: Plugin, inputs: list) -> list:
    """Lay out the section inside the current tab; `inputs` are the tab's run inputs. Returns its outputs."""
    name = plugin.name
    with gr.Accordion("How faithful is this map?", open=False, elem_id=f"trust-{name}"):
        with gr.Row():
            with gr.Column(scale=2):
                steps = controls.checked(
                    controls.Slider,
                    Param("score_steps", "int", DEFAULT_STEPS, minimum=4, maximum=50, label="Steps"),
                    minimum=4,
                    maximum=50,
                    value=DEFAULT_STEPS,
                    step=1,
                    precision=0,
                    label="Steps",
                    info="How many fractions of the pixels to delete or reveal.",
                )
                baseline = gr.Dropdown(
                    choices=list(registry.BASELINES),
                    value="blur",
                    label="Insertion starts from",
                    info="What unrevealed pixels show: a blurred copy (as RISE), mid-grey, or zeros.",
                )
                score_button = gr.Button("Score deletion / insertion", elem_id=f"faithfulness-run-{name}")
                check_button = gr.Button("Run the randomization check", elem_id=f"sanity-run-{name}")
                stop = controls.stop_button(f"trust-stop-{name}")
            with gr.Column(scale=5):
                plot = _picture(
                    "Deletion and insertion curves",
                    f"faithfulness-plot-{name}",
                    "The class probability as the map's most important pixels are removed, then revealed, beside "
                    "random maps and the inverse order; the text beside it gives the areas",
                )
                numbers = gr.Markdown(elem_id=f"faithfulness-info-{name}", label="summary")
                strip = _picture(
                    "Map after each randomization step",
                    f"sanity-strip-{name}",
                    "The map after each step of re-initialising the model's weights from the top down, each "
                    "captioned with its similarity to the original",
                )
                table = gr.Markdown(elem_id=f"sanity-info-{name}", label="summary")
                data = gr.JSON(label="Numbers", open=False)
        gr.Markdown(HOW_TO_READ_FAITHFULNESS + "\n\n" + HOW_TO_READ_SANITY)
    scoring = score_button.click(
        gpu(faithfulness_handler(plugin), heavy=True),
        inputs=[*inputs, steps, baseline],
        outputs=[plot, numbers, data],
        show_progress_on=plot,  # one progress place: the curves it is drawing
        api_name=f"{name}{FAITHFULNESS_SUFFIX}",
        **lane(True),
    )
    checking = check_button.click(
        gpu(sanity_handler(plugin), heavy=True),
        inputs=inputs,
        outputs=[strip, table, data],
        show_progress_on=strip,
        api_name=f"{name}{SANITY_SUFFIX}",
        **lane(True),
    )
    controls.stops(stop, [scoring, checking])
    return [plot, numbers, strip, table, data]


def _picture(label: str, elem_id: str, alt_text: str) -> gr.Image:
    """A check's figure: a PNG shown, not edited, described in words."""
    return gr.Image(label=label, format="png", interactive=False, elem_id=elem_id, alt_text=alt_text)


def faithfulness_handler(plugin: Plugin):
    """The /<plugin>_faithfulness event: the tab's inputs, then `score_steps` and `score_baseline` (named apart
    from any plugin parameter)."""

    def score(loaded, picture, result, _controls, extra, progress):
        steps, baseline = extra
        found = registry.faithfulness(
            loaded,
            picture,
            result,
            steps=_whole(steps, "Steps"),
            baseline=baseline,
            progress=_adapter(progress, "Deletion and insertion"),
        )
        return found.figure, describe_faithfulness(found), found.as_dict()

    extra = [
        inspect.Parameter("score_steps", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=DEFAULT_STEPS),
        inspect.Parameter("score_baseline", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="blur"),
    ]
    return _check_handler(plugin, "The deletion / insertion score", score, extra)


def sanity_handler(plugin: Plugin):
    """The /<plugin>_sanity_check event: the tab's inputs."""

    def randomize(loaded, picture, result, controls, _extra, progress):
        check = registry.sanity_check(
            loaded,
            picture,
            plugin,
            target=result.target,
            layer=result.layer.name if result.layer else None,
            progress=_adapter(progress, "Randomization check"),
            **controls,
        )
        return check.figure, describe_sanity(check), check.as_dict()

    return _check_handler(plugin, "The randomization check", randomize, [])


def _check_handler(plugin: Plugin, title: str, run, extra: list[inspect.Parameter]):
    """One trust check as an event: the tab's map for the inputs on screen, then `run(backbone, picture, map,
    controls, extra values, progress)` → (figure, text, data); our own checks' errors become sentences."""
    names = [param.name for param in plugin.all_params]

    def handle(image, backbone, target, allow_untrained, layer, *values, progress=gr.Progress()):
        controls = dict(zip(names, values[: len(names)]))
        loaded, picture, result = _map(plugin, image, backbone, target, allow_untrained, layer, controls, progress)
        try:
            return run(loaded, picture, result, controls, values[len(names) :], progress)
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

    return _named(handle, plugin, extra)


def describe_faithfulness(score: registry.FaithfulnessScore) -> str:
    """The numbers under the plot, each with what it must beat and a one-word verdict."""
    rows = [
        f"**{score.plugin}** explaining **{score.target}: {score.label}**, {score.steps} steps, "
        f"{score.seeds} random maps, {score.seconds:.1f} s",
        "",
        "| curve | this map | random maps (mean ± spread) | inverse map | verdict |",
        "|---|---:|---:|---:|---|",
    ]
    for mode, better in (("deletion", "lower"), ("insertion", "higher")):
        mine, random, spread = score.auc(mode), score.auc(f"random_{mode}"), score.spread(f"random_{mode}")
        gain = (random - mine) if better == "lower" else (mine - random)
        verdict = (
            "beats random" if gain > spread else ("worse than random" if gain < -spread else "within the random spread")
        )
        rows.append(
            f"| {mode} AUC ({better} is better) | **{mine:.3f}** | {random:.3f} ± {spread:.3f} | "
            f"{score.auc(f'inverse_{mode}'):.3f} | {verdict} |"
        )
    if score.stopped:  # scoring cut short keeps its finished curves, and says so
        rows += ["", f"⏱ **Stopped early:** {score.stopped}"]
    return "\n".join(rows)


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
