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


def _hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return _Guided.apply(output, (inputs[0] > 0).to(output.dtype))


def activation_census(model: nn.Module) -> tuple[int, int]:
    """(ReLU-like modules, smooth activation modules) in `model`."""
    modules = list(model.modules())
    return sum(isinstance(m, RELU_LIKE) for m in modules), sum(isinstance(m, SMOOTH) for m in modules)


@contextlib.contextmanager
def guided_rule(model: nn.Module) -> Iterator[int]:
    """Apply the guided rule to every ReLU-like module for the duration of the block; yields their count."""
    handles = [m.register_forward_hook(_hook) for m in model.modules() if isinstance(m, RELU_LIKE)]
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


def guided_gradient(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    """d(target logit)/d(input) with the guided rule applied, (1, 3, H, W)."""
    leaf = x.detach().clone().requires_grad_(True)
    with guided_rule(model), torch.enable_grad():
        score = model(leaf)[0, target]
        (gradient,) = torch.autograd.grad(score, leaf)
    return gradient


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
