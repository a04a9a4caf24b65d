"""The guided backpropagation rule on every ReLU-like activation a model really runs.

captum's GuidedBackprop rewrites only `nn.ReLU` modules, so on timm models built from ReLU6
(inside BatchNormAct2d) it silently returns the plain gradient. Here a forward hook on each
ReLU, ReLU6 and LeakyReLU module wraps its output in a function that, on the way back, lets a
gradient through only where it is positive and the activation's input was positive. Smooth
activations (SiLU, GELU, ...) have no such rule and pass the plain gradient. The hooks exist
only inside `guided_rule()` (called under the model lock) and are always removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from registry.methods._plugin import Context, Plugin
from registry.models import Backbone

RELU_LIKE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)
SMOOTH = (nn.SiLU, nn.GELU, nn.Hardswish, nn.Mish, nn.ELU, nn.SELU, nn.Softplus, nn.Sigmoid, nn.Tanh, nn.Hardsigmoid)


class _Guided(torch.autograd.Function):
    """Identity forward; backward keeps the positive gradient where the activation's input was positive."""

    @staticmethod
    def forward(ctx, output: torch.Tensor, opened: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(opened)
        return output.view_as(output)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (opened,) = ctx.saved_tensors
        return grad.clamp(min=0) * opened, None


class _Deconvolution(torch.autograd.Function):
    """Forward: the activation's output; backward: the positive gradient straight to the activation's input,
    around its own gate (Zeiler and Fergus: whether the activation was on plays no part on the way back)."""

    @staticmethod
    def forward(ctx, source: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return output.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad.clamp(min=0), None


def _hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return _Guided.apply(output, (inputs[0] > 0).to(output.dtype))


def _deconvolution_hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return _Deconvolution.apply(inputs[0], output.detach())


def activation_census(model: nn.Module) -> tuple[int, int]:
    """(ReLU-like modules, smooth activation modules) in `model`."""
    modules = list(model.modules())
    return sum(isinstance(m, RELU_LIKE) for m in modules), sum(isinstance(m, SMOOTH) for m in modules)


@contextlib.contextmanager
def guided_rule(model: nn.Module, deconvolution: bool = False) -> Iterator[int]:
    """Apply the guided rule (or the deconvolution rule) to every ReLU-like module for the duration of the block;
    yields their count."""
    hook = _deconvolution_hook if deconvolution else _hook
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, RELU_LIKE)]
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


def guided_gradient(model: nn.Module, x: torch.Tensor, target: int, deconvolution: bool = False) -> torch.Tensor:
    """d(target logit)/d(input) with the guided (or the deconvolution) rule applied, (1, 3, H, W)."""
    leaf = x.detach().clone().requires_grad_(True)
    with guided_rule(model, deconvolution), torch.enable_grad():
        score = model(leaf)[0, target]
        (gradient,) = torch.autograd.grad(score, leaf)
    return gradient


def no_rule_reason(model: nn.Module, rule: str) -> str | None:
    """Why a ReLU-rule method (guided backprop, deconvolution) cannot apply to `model`, or None: with no ReLU-like
    activation to apply the rule to, it would be Saliency renamed."""
    relu_like, _smooth = activation_census(model)
    if relu_like:
        return None
    return (
        f"it has no ReLU-like activations (only smooth ones such as GELU or SiLU), so the {rule} rule has nothing to "
        "act on and the map would be the plain gradient: see the Saliency tab instead."
    )


def smooth_note(model: nn.Module) -> str | None:
    """What the user should know about the model's activations for a guided map, or None."""
    relu_like, smooth = activation_census(model)
    if relu_like == 0:
        return (
            "This model has no ReLU-like activations (it uses smooth ones such as SiLU or GELU), "
            "so the guided rule changes nothing: the map is the plain gradient."
        )
    if smooth:
        return (
            f"The guided rule acts on {relu_like} ReLU-like activations; {smooth} smooth activations "
            f"(SiLU, GELU, ...) pass the plain gradient."
        )
    return None


def note_activations(ctx) -> None:
    """Put `smooth_note` on a guided map's context: a warning when no activation is ReLU-like (the guided rule then
    changes nothing), plain information when only some are."""
    note = smooth_note(ctx.model)
    if note is None:
        return
    relu_like, _ = activation_census(ctx.model)
    if relu_like == 0:
        ctx.warn(note)
    else:
        ctx.notes.append(note)


class ReluRuleMap(Plugin):
    """Guided Backprop and Deconvolution: the input gradient with `rule` at every ReLU-like activation, its
    magnitude's largest colour; refused on a model with no ReLU-like activation (the rule would change nothing)."""

    rule = "guided"  # or "deconvolution"
    api_version = "1.10"  # backward_rule: the shared pass runs under the rule
    needs_target = True
    needs_gradients = True
    scale_percentile = 99.0

    def refusal(self, backbone: Backbone) -> str | None:
        reason = no_rule_reason(backbone.model, self.rule)
        return self.refused(backbone, reason) if reason else super().refusal(backbone)

    def backward_rule(self, model: nn.Module) -> tuple[str, contextlib.AbstractContextManager]:
        return self.rule, guided_rule(model, deconvolution=self.rule == "deconvolution")

    def compute(self, ctx: Context) -> torch.Tensor:
        note_activations(ctx)
        if ctx.shared is not None and ctx.shared.rule == self.rule:  # the shared pass ran under this rule
            gradient = ctx.input_gradient
        else:
            gradient = guided_gradient(ctx.model, ctx.x, ctx.target, deconvolution=self.rule == "deconvolution")
        return gradient[0].abs().amax(dim=0)
