"""The plugin contract: what a visualization declares, and the one `run` every plugin shares.

A plugin subclasses `Plugin`, fills in its declarations (name, title, description, needs,
output kind, parameters) and writes `compute`. Everything else — preprocessing, choosing the
target class and layer, locking the model, normalising, rendering and timing — happens here,
once, so every plugin behaves the same in the app, in the API and in tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from typing_extensions import deprecated

import registry.settings as settings
from registry.imaging import render
from registry.methods._params import Param, PluginSpecError
from registry.methods._request import check_request
from registry.methods._runner import Job, check_applies, compute_jobs, finish_job
from registry.methods._shared_pass import ACTIVATIONS, ATTENTION, GRADIENTS, INPUT_GRADIENT, READS, SharedPass
from registry.models import Backbone, LayerInfo, Layout

__all__ = [
    "API_VERSION",
    "COSTS",
    "DEPTHS",
    "DISPLAY_PARAMS",
    "FAMILIES",
    "OUTPUTS",
    "RESERVED",
    "SIGNED_DISPLAY_PARAMS",
    "TIME_BUDGET_S",
    "UNTRAINED",
    "ZERO_GRADIENT_NOTE",
    "ZERO_MAP_NOTE",
    "Context",
    "Plugin",
    "PluginTimeout",
    "Progress",
    "Visualization",
    "check_api_version",
    "map_scale",
    "normalise",
    "normalize",
    "report",
    "time_budget",
]

OUTPUTS = ("heatmap", "images")
DEPTHS = ("early", "middle", "final")
RESERVED = {"backbone", "image", "target", "layer", "progress"}
UNTRAINED = "UNTRAINED WEIGHTS"
# The plugin contract's version. Major: a plugin written for another major version cannot load.
# Minor: additions a plugin may use (1.1 added `reads`, the shared pass, `cost` and `ctx.step`;
# 1.2 added `supports` and `ctx.layout`, and maps of transformers' token layers; 1.3 added `ChannelCam`, a base whose
# subclasses write only their channel weights, `UnknownPluginError` from the one lookup `get_plugin`, one
# `progress(fraction, words)` callback for runs, compare and the trust checks, and the contract suite on a tiny model).
# 1.4 made `refusal` (the whole sentence, or None; `refused(backbone, reason)` words it) the one method that says a
# plugin cannot apply, enforced by `check_applies`; `supports` is deprecated, still honoured; `check_supported` is gone.
# 1.5 added `family`: the group of methods a plugin belongs to, one tab per family in the app.
# 1.6 added `GradientCam` and `PerturbationCam` (ChannelCam with the declarations of the gradient and of the
# perturbation CAMs), `HOW_TO_READ_A_CAM`, ChannelCam weights per location and its `layer_map`, `Param` factories
# for the batch, channel-cap and sampling settings, and -ize spellings of public names (the -ise ones warn).
# 1.7 added parameters of kind "image" (a second picture, checked by the imaging room; the app shows an image input
# and `/explain` takes it as a file), the "create" family (pictures made by optimising an image) and `quick_params`
# (small settings the contract suite and the test sweeps run a plugin with).
# 1.8 added the "relevance" and "decomposition" families, `ctx.score_gradient` and `ctx.hessian_product` (second-order
# terms on the shared pass), and the bases `RuleAttribution`, `ReluRuleMap`, `SampledScoreCam` and
# `SuperpixelAttribution` with their helpers.
# 1.9 added reads "attention" and `ctx.attention_maps`: each ViT block's tokens and attention maps from the shared pass.
# 1.10 added `backward_rule`: a backward rule (guided backprop's, deconvolution's) the shared pass may run under, so a
# rule map reads `ctx.input_gradient` from the one forward pass (`ctx.shared.rule` says whether it did).
API_VERSION = "1.10"
ZERO_MAP_NOTE = (
    "The {method} map is zero everywhere: nothing in the image counts for this class at this layer by this "
    "method{untrained}, so there is no heat to show."
)
_UNTRAINED_CAUSE = " (random weights often give that)"
# How much a plugin costs, so the app can say so before anyone clicks: about one pass of the
# model; a handful; tens or more (loops over masks, steps or windows).
COSTS = {
    "light": "about one forward and backward pass",
    "moderate": "a few passes of the model",
    "heavy": "tens of passes of the model or more; it may take a while on a CPU",
}
ZERO_GRADIENT_NOTE = (
    "The class score's gradient is zero at every location of {layer}: nothing there reaches the "
    "output (a transformer that classifies from its class token ignores its last block's patch "
    "tokens), so this map is blank. Choose an earlier layer, or leave the layer on auto."
)
# The families of methods, in the order the app shows them (one tab each): name → (title, what they share).
# A plugin names its own in `family`; one that names none sits in "other".
FAMILIES = {
    "representations": (
        "Representations",
        "What a layer holds, with no class in mind: how its channels respond to this image.",
    ),
    "cam": (
        "Class activation maps",
        "Where in a layer the evidence for a class lies: the layer's channels, each weighed by how much it "
        "counts for the class.",
    ),
    "gradients": (
        "Gradients",
        "How each pixel of the input moves the class score: the gradient, and the methods that make it less noisy.",
    ),
    "relevance": (
        "Relevance",
        "Rules that pass the class score back through the network layer by layer (DeepLift, LRP, deconvolution, "
        "conductance): each pixel's share of the score, where the network is built the way the rules expect.",
    ),
    "perturbation": (
        "Perturbation",
        "Change parts of the image and watch the score: no gradients, only the model's own answers.",
    ),
    "decomposition": (
        "Decomposition",
        "Split what a layer sees into a few concepts, each shown where it lies and named by the classes it scores.",
    ),
    "create": (
        "Create",
        "Make pictures with the network: amplify what a layer sees in your image (DeepDream), or paint your image "
        "in the textures of another (style transfer). Early layers give strokes and colours, deep ones objects.",
    ),
    "other": ("More methods", "Methods from plugins that name no family of their own."),
}
TIME_BUDGET_S = 120.0  # default for $CNNLENS_TIME_BUDGET: how long one computation may run
# How a long computation reports, the one shape Plugin.run, compare and the trust checks all take:
# progress(fraction done, in [0, 1]; what it is doing, in words).
Progress = Callable[[float, str], None]


def report(progress: Progress | None, done: int, total: int, words: str) -> None:
    """Tell `progress` (when there is one) that `done` of `total` steps are finished."""
    if progress is not None and total > 0:
        progress(done / total, words)


class PluginTimeout(ValueError):
    """A plugin ran past its time budget and was stopped between two steps; the message is for the user."""


def time_budget() -> float:
    """Seconds one computation may run ($CNNLENS_TIME_BUDGET), checked by `Context.step`."""
    return settings.value("CNNLENS_TIME_BUDGET")


def _version(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def check_api_version(name: str, declared: str) -> str | None:
    """Refuse a plugin written for another major version; return a warning for a newer minor one."""
    try:
        wanted, provided = _version(declared), _version(API_VERSION)
    except ValueError:
        raise PluginSpecError(f"plugin {name!r}: api_version must look like '1.0', not {declared!r}") from None
    if wanted[0] != provided[0]:
        raise PluginSpecError(
            f"plugin {name!r} needs plugin API {declared}; this CNN Lens provides {API_VERSION} "
            f"(major versions {wanted[0]} and {provided[0]} are incompatible)"
        )
    if wanted > provided:
        return (
            f"plugin {name!r} was written for plugin API {declared}, newer than this CNN Lens's {API_VERSION}: "
            "it loads, but may use something this version lacks"
        )
    return None


# Every heatmap plugin gets these display controls; they change the picture, not the map.
DISPLAY_PARAMS = (
    Param("colormap", "choice", "jet", label="Colormap", choices=render.COLORMAPS),
    Param("opacity", "float", 0.5, label="Heatmap opacity", minimum=0.0, maximum=1.0, step=0.05),
)
SIGNED_DISPLAY_PARAMS = (
    Param("colormap", "choice", "bwr", label="Colormap", choices=render.SIGNED_COLORMAPS),
    DISPLAY_PARAMS[1],
)


@dataclass
class Context:
    """What `compute` gets: the prepared input and everything resolved for it."""

    backbone: Backbone
    x: torch.Tensor
    view: Image.Image
    target: int | None
    layer: str | None
    module: nn.Module | None
    params: dict[str, Any]
    shared: SharedPass | None = None
    deadline: float = float("inf")  # time.monotonic() past which `step` stops the computation
    progress: Progress | None = None
    title: str = ""
    notes: list[str] = field(default_factory=list)  # compute() may add remarks; they reach Visualization.notes
    warnings: list[str] = field(default_factory=list)  # the notes that say the map may mislead (`warn`)

    def warn(self, text: str) -> None:
        """Add a note that says the map may mislead (shown with a warning mark); plain information goes to `notes`."""
        if text not in self.notes:
            self.notes.append(text)
        if text not in self.warnings:
            self.warnings.append(text)

    def step(self, done: int, total: int, words: str | None = None) -> None:
        """Call between the batches of a loop: reports progress (`words`, else "title: done/total"), and stops a
        run past its time budget or its request's (or one nobody waits for any more)."""
        report(self.progress, done, total, words or f"{self.title}: {done}/{total}")
        if time.monotonic() > self.deadline:
            raise PluginTimeout(
                f"{self.title or 'The method'} stopped after {done} of {total} steps: it ran past its "
                f"time budget of {time_budget():g} s (CNNLENS_TIME_BUDGET). Try smaller settings."
            )
        check_request(self.title or "The method", done, total)

    @property
    def model(self) -> nn.Module:
        return self.backbone.model

    def counted(self, calls: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """The model as a function that calls `step` each time it runs: give it to a library's loop
        (captum's Occlusion, IntegratedGradients) so progress and the time budget reach inside it.

        A plugin that declares reads "logits" gets the unaltered input answered from the shared pass:
        captum evaluates it once more (Occlusion's reference score, the convergence delta's end point),
        and that forward pass has already run. `calls` counts only the passes that really run."""
        done = iter(range(1, 1 << 62))
        known = self.shared.logits.detach() if self.shared is not None else None

        def forward(x: torch.Tensor) -> torch.Tensor:
            if known is not None and x is self.x:
                return known
            self.step(min(next(done), calls), calls)
            return self.model(x)

        return forward

    @property
    def activations(self) -> torch.Tensor:
        """The layer's output (1, C, h, w) from the shared forward pass (declare reads "activations")."""
        return self._pass().activations(self.layer)

    @property
    def gradients(self) -> torch.Tensor:
        """d(target logit) / d(layer output), (1, C, h, w), from the shared backward (reads "gradients")."""
        gradients = self._pass().gradients(self.target, self.layer)
        if not bool(gradients.any()):
            self.warn(ZERO_GRADIENT_NOTE.format(layer=self.layer))
        return gradients

    @property
    def hessian_product(self) -> torch.Tensor:
        """H·A, (1, C, h, w): the Hessian of the target logit with respect to the layer's output A, times A, by a
        double backward on the shared pass (reads "gradients"; ShapleyCAM's second-order term)."""
        return self._pass().hessian_product(self.target, self.layer)

    def score_gradient(self, score: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """d score(logits) / d(layer output), (1, C, h, w), for a class score other than one logit: `score` maps
        the image's logits (the shared pass's, with their graph) to a number (reads "gradients")."""
        return self._pass().score_gradient(score, self.layer)

    @property
    def attention_maps(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each transformer block's (output tokens (1, N, C), post-softmax attention (1, heads, N, N)), in order, with
        their graph, from the shared forward pass (reads "attention"; ViT-style timm models)."""
        return self._pass().attention_maps()

    @property
    def layout(self) -> Layout:
        """How the layer holds its map; `layout.from_map(maps, output)` writes maps back into the layer's
        own layout, for a plugin that replaces the layer's output (transformer tokens, Swin's NHWC)."""
        return self.backbone.layout(self.layer)

    @property
    def logit(self) -> float:
        """The target class's logit from the shared forward pass (any plugin that reads the pass)."""
        return float(self._pass().logits[0, self.target].detach())

    @property
    def input_gradient(self) -> torch.Tensor:
        """d(target logit) / d(input), (1, 3, H, W), from the shared backward (reads "input_gradient")."""
        return self._pass().input_gradient(self.target)

    def _pass(self) -> SharedPass:
        if self.shared is None:
            raise RuntimeError("this plugin reads the shared pass but declares nothing in `reads`")
        return self.shared

    @property
    def view_size(self) -> tuple[int, int]:
        """(height, width) of the model view, the size every heatmap is returned at."""
        return self.view.height, self.view.width


@dataclass
class Visualization:
    """A plugin's result: the map (if any), the pictures, and what they explain."""

    plugin: str
    backbone: str
    heatmap: np.ndarray | None
    images: list[Image.Image]
    captions: list[str]
    target: int | None
    label: str | None
    probability: float | None
    layer: LayerInfo | None
    device: str
    seconds: float
    untrained: bool
    signed: bool = False
    notes: list[str] = field(default_factory=list)  # every remark on the result, in order
    warnings: list[str] = field(default_factory=list)  # those of the notes that say the map may mislead
    scale: float | None = None  # the raw map value drawn at the top of the colour scale (None: no map)
    colormap: str | None = None  # the matplotlib colour map the heatmap pictures use
    prediction: tuple[int, str, float] | None = None  # the model's top-1 (index, label, probability), for class maps
    # The map in its own units at the model view's size, before scaling (unsigned maps: negatives
    # dropped): what `heatmap` shows, unclipped, for scripts that need the numbers (None: no map).
    raw: np.ndarray | None = None


class Plugin:
    """Base class of every visualization. Subclasses set the declarations and `compute`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needs_target: ClassVar[bool] = False
    needs_layer: ClassVar[bool] = False
    default_depth: ClassVar[str] = "final"  # where "auto" puts the layer: "early", "middle" or "final"
    needs_gradients: ClassVar[bool] = False
    # What compute() reads from the shared pass (see registry/methods/_shared_pass.py): "activations" and
    # "gradients" of the layer, "input_gradient". Maps that read them share one forward and one
    # backward per class; a plugin that reads nothing runs the model itself in compute().
    reads: ClassVar[tuple[str, ...]] = ()
    output: ClassVar[str] = "heatmap"
    signed: ClassVar[bool] = False
    api_version: ClassVar[str] = "1.0"  # the contract version the plugin was written for
    cost: ClassVar[str] = "light"  # one of COSTS
    family: ClassVar[str] = "other"  # one of FAMILIES: the tab the app puts it in, beside its kin
    # Scale the map so this percentile of |values| reaches 1 (brighter ones are clipped), as captum's
    # visualisations do: a few extreme gradients otherwise leave the rest of a saliency map black.
    scale_percentile: ClassVar[float] = 100.0
    params: ClassVar[tuple[Param, ...]] = ()
    # Small settings that run the same code in seconds (fewer steps, a smaller picture): what the contract suite and
    # the test sweeps run the plugin with. A heavy plugin's defaults are for people and can take minutes on a CPU.
    quick_params: ClassVar[dict[str, Any]] = {}
    # Teaching text for a student (optional, Markdown): how to read the result, and the usual ways to
    # misread it. The app shows them in a closed section under the description.
    how_to_read: ClassVar[str] = ""
    pitfalls: ClassVar[str] = ""
    source: str = "?"  # set by the loader: where the plugin came from

    def compute(self, ctx: Context) -> Any:
        """Heatmap plugins return a 2-D array (any scale); image plugins return [(image, caption)]."""
        raise NotImplementedError

    def backward_rule(self, model: nn.Module) -> tuple[str, AbstractContextManager] | None:
        """(name, hooks) of the backward rule this map's input gradient is taken under (guided backprop's,
        deconvolution's), or None for the plain gradient. Where every map of a shared pass that reads a gradient
        asks for the same rule, the pass runs under it and the map reads `ctx.input_gradient` from it (one
        forward and one backward in all); otherwise `ctx.shared.rule` is not its rule and it runs its own pass."""
        return None

    @property
    def all_params(self) -> tuple[Param, ...]:
        if self.output != "heatmap":
            return self.params
        return self.params + (SIGNED_DISPLAY_PARAMS if self.signed else DISPLAY_PARAMS)

    def validate(self) -> None:
        """Raise PluginSpecError if the declarations are incomplete or inconsistent."""
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise PluginSpecError(f"name {self.name!r} must be lower-case letters, digits and underscores")
        for attribute in ("title", "description"):
            if not isinstance(getattr(self, attribute), str) or not getattr(self, attribute).strip():
                raise PluginSpecError(f"plugin {self.name!r} has no {attribute}")
        for attribute in ("how_to_read", "pitfalls"):
            if not isinstance(getattr(self, attribute), str):
                raise PluginSpecError(f"plugin {self.name!r}: {attribute} must be a string (Markdown), or left out")
        if self.output not in OUTPUTS:
            raise PluginSpecError(f"plugin {self.name!r}: output must be one of {OUTPUTS}, not {self.output!r}")
        check_api_version(self.name, self.api_version)
        if self.cost not in COSTS:
            raise PluginSpecError(f"plugin {self.name!r}: cost must be one of {', '.join(COSTS)}, not {self.cost!r}")
        if self.family not in FAMILIES:
            raise PluginSpecError(
                f"plugin {self.name!r}: family must be one of {', '.join(FAMILIES)}, not {self.family!r}"
            )
        if not 50.0 <= self.scale_percentile <= 100.0:
            raise PluginSpecError(f"plugin {self.name!r}: scale_percentile must lie between 50 and 100")
        if self.default_depth not in DEPTHS:
            raise PluginSpecError(f"plugin {self.name!r}: default_depth must be one of {DEPTHS}")
        if not isinstance(self.reads, tuple) or set(self.reads) - set(READS):
            raise PluginSpecError(f"plugin {self.name!r}: reads must be a tuple drawn from {READS}")
        if (ACTIVATIONS in self.reads or GRADIENTS in self.reads) and not self.needs_layer:
            raise PluginSpecError(
                f"plugin {self.name!r} reads a layer's {'/'.join(self.reads)} but does not set needs_layer"
            )
        if {GRADIENTS, INPUT_GRADIENT, ATTENTION} & set(self.reads) and not self.needs_target:
            raise PluginSpecError(f"plugin {self.name!r} reads gradients but does not set needs_target")
        if {GRADIENTS, INPUT_GRADIENT, ATTENTION} & set(self.reads) and not self.needs_gradients:
            raise PluginSpecError(f"plugin {self.name!r} reads gradients but does not set needs_gradients")
        if type(self).compute is Plugin.compute:
            raise PluginSpecError(f"plugin {self.name!r} does not implement compute()")
        names = [p.name for p in self.all_params if isinstance(p, Param)]
        if len(names) != len(self.all_params):
            raise PluginSpecError(f"plugin {self.name!r}: every entry of params must be a Param")
        if len(set(names)) != len(names) or RESERVED & set(names):
            raise PluginSpecError(f"plugin {self.name!r}: parameter names must be unique and not {sorted(RESERVED)}")
        declared = {param.name: param for param in self.all_params}
        for name, value in self.quick_params.items():
            if name not in declared:
                raise PluginSpecError(f"plugin {self.name!r}: quick_params names {name!r}, which is not a parameter")
            try:
                declared[name].coerce(value)
            except ValueError as exc:
                raise PluginSpecError(f"plugin {self.name!r}: quick_params: {exc}") from None

    def refusal(self, backbone: Backbone) -> str | None:
        """Why this method cannot apply to `backbone`, as the sentence a user reads, or None when it can.

        The one place that decides it: the runner checks it before any computation (`check_applies`), compare
        records it as the cell's error, and the app shows it on the method's tab before anyone clicks. Override
        it, calling super first, when the method needs something a model may lack; `self.refused(backbone,
        reason)` words the sentence the same way for every method.
        """
        if self.needs_target and backbone.num_classes == 0:
            return self.refused(
                backbone,
                "it has no classifier head (num_classes = 0, a feature extractor), so there is no class "
                "score to explain.",
            )
        if self.needs_layer and backbone.default_layer is None:
            return self.refused(
                backbone,
                f"{backbone.name} has no layer with spatial extent (no height × width map), so there is "
                "no layer for this method to look at.",
            )
        if type(self).supports is not Plugin.supports:  # a plugin written for API 1.2-1.3
            reason = self.supports(backbone)
            return self.refused(backbone, reason) if reason else None
        return None

    def supports(self, backbone: Backbone) -> str | None:
        """Deprecated since plugin API 1.4 (override `refusal`); kept so that 1.2-1.3 plugins still load: a
        subclass's reason becomes the refusal's."""
        return None

    def refused(self, backbone: Backbone, reason: str) -> str:
        """The refusal sentence for `reason`: "<method> does not apply to <backbone>: <reason>"."""
        return f"{self.title} does not apply to {backbone.name}: {reason}"

    def auto_layer(self, backbone: Backbone) -> str | None:
        """The layer used when the caller names none."""
        return backbone.suggested_layer(self.default_depth)

    def resolve_layer(self, backbone: Backbone, layer: str | None) -> tuple[str | None, nn.Module | None]:
        """(name, module) of the layer to use: a module name, a depth word, or None for the default."""
        if not self.needs_layer:
            return None, None
        if layer in DEPTHS:
            if backbone.suggested_layer(layer) is None:
                raise ValueError(f"{backbone.name} has no stages with a spatial map, so {layer!r} names no layer.")
            layer = backbone.suggested_layer(layer)
        return backbone.module(layer or self.auto_layer(backbone))

    def resolve_params(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled in, each value checked; unknown names are an error, not ignored."""
        known = {p.name: p for p in self.all_params}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(
                f"{self.title} has no parameter {', '.join(sorted(unknown))}; it has {', '.join(known) or 'none'}."
            )
        return {name: p.coerce(values[name]) if name in values else p.default for name, p in known.items()}

    def run(
        self,
        backbone: Backbone,
        image: Any,
        target: int | None = None,
        layer: str | None = None,
        *,
        progress: Progress | None = None,
        **params: Any,
    ) -> Visualization:
        """Compute this visualization of `image` on `backbone`.

        Args:
            backbone: from `registry.load_backbone`.
            image: a path, a PIL image or an RGB array; it is decoded and prepared as the backbone's model view.
            target: the class to explain; None for the backbone's top-1 (ignored by methods with no target).
            layer: a module name, a depth word ("early", "middle", "final") or None for the method's default.
            progress: ``progress(fraction, words)``, told by methods that loop (they call `ctx.step`).
            **params: the method's declared parameters, checked against their ranges.

        Returns:
            A `Visualization`: the heatmap in [0, 1] aligned with the model view (None for picture-only
            methods), the pictures, and what was explained (class, probability, layer, device, time, notes).

        Raises:
            ValueError: a bad class, layer or parameter, or a method that cannot apply (`Unsupported`),
                each with a sentence for the user; `PluginTimeout` when the time budget runs out.
        """
        values = self.resolve_params(params)
        check_applies(self, backbone)
        started = time.perf_counter()
        x, view = backbone.prepare(image)  # decoding needs no model: keep it outside the lock
        preparing = time.perf_counter() - started
        job = Job(self, target, layer, values)
        run = compute_jobs(backbone, x, view, [job], progress=progress)
        return finish_job(job, run, preparing + run.seconds + job.seconds)  # waiting for the lock is not counted

    def context(
        self,
        backbone: Backbone,
        x: torch.Tensor,
        view: Image.Image,
        target: int | None,
        layer: str | None,
        module: nn.Module | None,
        values: dict[str, Any],
        shared: SharedPass | None,
        progress: Progress | None = None,
    ) -> Context:
        """The Context for one computation, with its time budget starting now."""
        return Context(
            backbone,
            x,
            view,
            target,
            layer,
            module,
            values,
            shared if self.reads or self.backward_rule(backbone.model) is not None else None,
            deadline=time.monotonic() + time_budget(),
            progress=progress,
            title=self.title,
        )

    def compute_synchronized(self, ctx: Context) -> Any:
        """`compute`, waiting for the GPU so the time measured is the real one."""
        raw = self.compute(ctx)
        if ctx.backbone.device.type == "cuda":
            torch.cuda.synchronize(ctx.backbone.device)
        return raw

    compute_synchronised = deprecated(
        "Plugin.compute_synchronised is spelled compute_synchronized now; the old name goes in the next release.",
        stacklevel=2,
    )(compute_synchronized)

    def finish(
        self,
        ctx: Context,
        raw: Any,
        probability: float | None,
        seconds: float,
        scale: float | None = None,
        prediction: tuple[int, str, float] | None = None,
    ) -> Visualization:
        """Normalise, render and label a computed result (outside the model lock: no model needed).

        `scale`: the raw value to draw at the top of the colour scale; by default the map's own
        (see `map_scale`). Compare passes one scale to maps of several classes, so a weak class looks weak.
        """
        backbone = ctx.backbone
        label = backbone.labels[ctx.target] if ctx.target is not None else None
        layer = backbone.layer_info(ctx.layer) if ctx.layer else None
        notes, warnings = list(ctx.notes), list(ctx.warnings)
        if prediction is not None and ctx.target is not None and ctx.target != prediction[0]:
            notes.append(
                f"The explained class is not the model's prediction: it predicts {prediction[0]}: "
                f"{prediction[1]} (p = {prediction[2]:.3f})."
            )
        if self.output == "heatmap":
            scale = scale if scale is not None else map_scale(raw, ctx.view_size, self.signed, self.scale_percentile)
            heatmap = normalize(raw, ctx.view_size, self.signed, self.scale_percentile, scale)
            raw = _resized(raw, ctx.view_size, self.signed).numpy().astype(np.float32)
            if not np.any(raw) and not any(note.startswith("The class score's gradient is zero") for note in notes):
                blank = ZERO_MAP_NOTE.format(method=self.title, untrained=_UNTRAINED_CAUSE * backbone.untrained)
                notes.append(blank)
                warnings.append(blank)
            images = [
                render.overlay(ctx.view, heatmap, ctx.params["colormap"], ctx.params["opacity"]),
                render.colorize(heatmap, ctx.params["colormap"]),
                ctx.view,
            ]
            subject = f" for '{label}'" if label else ""
            captions = [
                f"{self.title}{subject}",
                f"{self.title} heatmap",
                f"what the model saw ({ctx.view.width}×{ctx.view.height})",
            ]
        else:
            heatmap = None
            if not raw:
                raise RuntimeError(f"{self.title} returned no images")
            images, captions = [pair[0] for pair in raw], [pair[1] for pair in raw]
        if backbone.untrained:
            images = [render.stamp(image, UNTRAINED) for image in images]
            captions = [f"{caption} [{UNTRAINED.lower()}]" for caption in captions]
            untrained = f"{UNTRAINED.capitalize()}: this model has random weights, so the maps show structure only."
            notes.insert(0, untrained)
            warnings.insert(0, untrained)
        return Visualization(
            plugin=self.name,
            backbone=backbone.name,
            heatmap=heatmap,
            images=images,
            captions=captions,
            target=ctx.target,
            label=label,
            probability=probability,
            layer=layer,
            device=str(backbone.device),
            seconds=seconds,
            untrained=backbone.untrained,
            signed=self.signed,
            notes=notes,
            warnings=warnings,
            scale=scale if self.output == "heatmap" else None,
            colormap=ctx.params.get("colormap") if self.output == "heatmap" else None,
            prediction=prediction if label is not None else None,
            raw=raw if self.output == "heatmap" else None,
        )


def _resized(raw: Any, size: tuple[int, int], signed: bool) -> torch.Tensor:
    """A raw 2-D map at the model view's size, finite, negatives dropped for unsigned maps."""
    tensor = torch.as_tensor(raw).detach().float().cpu()
    tensor = tensor.squeeze()
    if tensor.ndim != 2:
        raise RuntimeError(f"a heatmap must be 2-D, got shape {tuple(tensor.shape)}")
    if tuple(tensor.shape) != size:
        tensor = F.interpolate(tensor[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    tensor = torch.nan_to_num(tensor, nan=0.0, posinf=0.0, neginf=0.0)
    return tensor if signed else tensor.clamp(min=0)


def map_scale(raw: Any, size: tuple[int, int], signed: bool, percentile: float = 100.0) -> float:
    """The raw value a map is scaled by: the `percentile` of |values| (the maximum by default)."""
    magnitude = _resized(raw, size, signed).abs()
    scale = float(magnitude.max() if percentile >= 100 else torch.quantile(magnitude.flatten(), percentile / 100))
    return scale if scale > 0 else float(magnitude.max())


def normalize(
    raw: Any, size: tuple[int, int], signed: bool, percentile: float = 100.0, scale: float | None = None
) -> np.ndarray:
    """A raw 2-D map → float32 H×W in [0, 1] at the model view's size.

    Unsigned maps keep zero at 0 and reach 1 at `scale` (default: the `percentile` of their values,
    the maximum by default); signed maps put zero at 0.5 and ±scale at 1 and 0.
    """
    tensor = _resized(raw, size, signed)
    scale = map_scale(raw, size, signed, percentile) if scale is None else scale
    if signed:
        tensor = tensor / scale * 0.5 + 0.5 if scale > 0 else torch.full_like(tensor, 0.5)
    else:
        tensor = tensor / scale if scale > 0 else tensor
    return tensor.clamp(0.0, 1.0).numpy().astype(np.float32)


normalise = deprecated(
    "registry.methods.normalise is spelled normalize now; the old name goes in the next release.", stacklevel=2
)(normalize)
