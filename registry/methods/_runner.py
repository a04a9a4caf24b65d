"""The one run pipeline: lock the model, resolve each map's layer, one shared pass, a context each, compute.

`Plugin.run` (one map), `registry.compare` (every cell of one backbone) and make-it-fail's
`explain_view` all compute through `compute_jobs`; each prepares its input before (decoding needs
no model, so it stays outside the lock) and finishes its results after, with `finish_job`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from registry.methods._request import RequestStopped, check_request, in_lane
from registry.methods._shared_pass import ACTIVATIONS, ATTENTION, GRADIENTS, INPUT_GRADIENT, SharedPass
from registry.models import Backbone, WeightsUnavailableError, class_index

if TYPE_CHECKING:
    from registry.methods._plugin import Context, Plugin, Progress, Visualization

__all__ = ["Job", "Pass", "Unsupported", "check_applies", "compute_jobs", "finish_job", "sentence"]


class Unsupported(ValueError):
    """A method that cannot apply to a model, refused before anything runs; the message says why."""


def check_applies(plugin: Plugin, backbone: Backbone) -> None:
    """Raise `Unsupported` with the plugin's refusal sentence when it cannot apply to `backbone`."""
    refusal = plugin.refusal(backbone)
    if refusal:
        raise Unsupported(refusal)


log = logging.getLogger("cnnlens")


@dataclass
class Job:
    """One map to compute: a plugin, its class (None: the prediction) and layer as asked, its checked parameters.
    `compute_jobs` fills in the rest, or `error` (a sentence) when the job is isolated and fails."""

    plugin: Plugin
    target: int | None = None
    layer: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    ctx: Context | None = None
    raw: Any = None
    probability: float | None = None
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Pass:
    """What the jobs shared: the pass (None when no job needed one), the top-1 prediction and its time."""

    shared: SharedPass | None
    prediction: tuple[int, str, float] | None
    seconds: float


def compute_jobs(
    backbone: Backbone,
    x: torch.Tensor,
    view: Image.Image,
    jobs: list[Job],
    *,
    progress: Progress | None = None,
    isolate: bool = False,
    predict: bool = False,
    done: Callable[[Job], None] | None = None,
) -> Pass:
    """Compute every job on one prepared input, holding the model's lock, from one shared pass.

    With `isolate`, a job that is refused, names a layer the model lacks or fails sets its own `error` and
    the others go on (compare's cells); otherwise the first problem raises. `predict` runs the forward pass
    even when no job needs it, for the prediction. `done(job)` hears after each job is computed.
    """
    backbone = in_lane(backbone)  # a heavy request computes on its own modules, so cheap ones never wait for it
    with backbone.lock:  # hooks live on modules: one computation per model at a time
        started = time.perf_counter()
        layers = _resolve_layers(backbone, jobs, isolate)
        ready = [job for job in jobs if job.error is None]
        for job in ready:
            if job.target is not None and job.plugin.needs_target:
                job.target = class_index(job.target, backbone.labels)
        shared = (
            _shared_pass(backbone, x, ready, layers)
            if predict or any(job.plugin.reads or job.plugin.needs_target for job in ready)
            else None
        )
        prediction = shared.top1 if shared is not None else None
        seconds = time.perf_counter() - started
        for job in ready:
            began = time.perf_counter()
            plugin = job.plugin
            target = (prediction[0] if job.target is None else job.target) if plugin.needs_target else None
            layer, module = layers[id(job)]
            job.ctx = plugin.context(backbone, x, view, target, layer, module, job.params, shared, progress)
            try:
                check_request(f"{plugin.title} on {backbone.name}")  # a stopped request computes no more cells
                job.raw = plugin.compute_synchronized(job.ctx)
            except RequestStopped as exc:  # not a failure of the method: the cell says it was not computed
                if not isolate:
                    raise
                job.error = str(exc)
            except Exception as exc:  # one method failing on one model must not sink the others
                if not isolate:
                    raise
                log.exception("%s failed on %s", plugin.name, backbone.name)
                job.error = f"{plugin.title} failed on {backbone.name}: {sentence(exc)}"
            else:
                job.probability = float(shared.probabilities[target]) if target is not None else None
                job.seconds = time.perf_counter() - began
            if done is not None:
                done(job)
    return Pass(shared, prediction, seconds)


def finish_job(job: Job, run: Pass, seconds: float, scale: float | None = None) -> Visualization:
    """The job's Visualization (normalised, rendered, labelled); needs no model, so call it outside the lock."""
    return job.plugin.finish(job.ctx, job.raw, job.probability, seconds, scale, run.prediction)


def sentence(exc: BaseException) -> str:
    """An error as a sentence for the user: our own ValueErrors as they are, anything else with its type."""
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, (ValueError, WeightsUnavailableError)) else f"{type(exc).__name__}: {text}"


def _resolve_layers(backbone: Backbone, jobs: list[Job], isolate: bool) -> dict[int, tuple[str | None, Any]]:
    """id(job) → (module name, module); a refused method or a missing layer is the job's error when isolated."""
    layers = {}
    for job in jobs:
        try:
            check_applies(job.plugin, backbone)
            layers[id(job)] = job.plugin.resolve_layer(backbone, job.layer)
        except ValueError as exc:
            if not isolate:
                raise
            job.error = sentence(exc)
    return layers


def _shared_pass(backbone: Backbone, x: torch.Tensor, jobs: list[Job], layers: dict) -> SharedPass:
    """One forward recording every layer the jobs read, then one backward per class they explain."""
    recorded = {layers[id(job)][0] for job in jobs if {ACTIVATIONS, GRADIENTS} & set(job.plugin.reads)}
    rule = _common_rule(backbone, jobs)
    shared = SharedPass(
        backbone,
        x,
        layers=sorted(filter(None, recorded)),
        gradients=any(GRADIENTS in job.plugin.reads for job in jobs),
        input_gradient=any(INPUT_GRADIENT in job.plugin.reads for job in jobs),
        attention=any(ATTENTION in job.plugin.reads for job in jobs),
        rule=rule,
    )
    predicted = shared.top1[0] if shared.top1 else None  # None: no classifier head, so no class job is ready
    for target in dict.fromkeys(
        predicted if job.target is None else job.target
        for job in jobs
        if {GRADIENTS, INPUT_GRADIENT} & set(job.plugin.reads) or (rule and job.plugin.backward_rule(backbone.model))
    ):
        if target is not None:
            shared.backward(target)
    return shared


def _common_rule(backbone: Backbone, jobs: list[Job]) -> tuple[str, Any] | None:
    """The backward rule the shared pass runs under: the one rule every job that reads a gradient asks for
    (`Plugin.backward_rule`), or None where a job wants the plain gradient, or two rules meet (Compare's guided
    backprop beside saliency): then the pass is plain and each ruled map takes its own."""
    wanted = [(job.plugin.backward_rule(backbone.model), job.plugin.reads) for job in jobs]
    rules = {rule[0]: rule for rule, _ in wanted if rule is not None}
    plain = any(rule is None and {GRADIENTS, INPUT_GRADIENT, ATTENTION} & set(reads) for rule, reads in wanted)
    return next(iter(rules.values())) if len(rules) == 1 and not plain else None
