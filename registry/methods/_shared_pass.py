"""The shared pass: one forward, and per class one backward, that several maps read from.

Maps of one image on one backbone share most of their work: the forward pass (predictions and
layer activations) and, per class, the backward pass (layer gradients for the CAM family, the
input gradient for saliency). A plugin declares in `reads` which of these it needs; `Plugin.run`
and `registry.compare` build one `SharedPass` per (backbone, image) and every map reads from it.
Layer gradients taken this way equal captum's `LayerGradCam` internals, and the input gradient
equals captum's `Saliency` (both checked in the tests). A transformer's token outputs and their
gradients reach plugins as maps too, through the layer's `Layout` (registry/models/_tokens.py). A plugin that reads
"attention" (LeGrad) gets every block's output tokens and post-softmax attention maps from the same forward pass,
run with the attention unfused (PyTorch's fused kernel never forms the maps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import torch
from torch import nn

from registry.models import Backbone

__all__ = [
    "ACTIVATIONS",
    "ATTENTION",
    "GRADIENTS",
    "INPUT_GRADIENT",
    "LOGITS",
    "READS",
    "RecordedForward",
    "SharedPass",
    "attention_layers",
    "gradients_of",
    "hessian_product",
    "record_forward",
    "score_gradient",
]

# What a plugin may read from the pass, declared in `Plugin.reads`.
ACTIVATIONS = "activations"  # the chosen layer's output as a map, (1, C, h, w)
GRADIENTS = "gradients"  # d(class logit) / d(layer output) as a map, (1, C, h, w)
INPUT_GRADIENT = "input_gradient"  # d(class logit) / d(input), (1, 3, H, W)
LOGITS = "logits"  # the model's output for the unaltered input (see `Context.counted`)
ATTENTION = "attention"  # each ViT block's output tokens and post-softmax attention maps, with their graph
READS = (ACTIVATIONS, GRADIENTS, INPUT_GRADIENT, LOGITS, ATTENTION)


class RecordedForward:
    """One forward pass of `x` through `backbone` that records `layers`, ready for backward passes: what the
    shared pass of one image and the evaluation's pass of a batch (registry/evaluation/_batch.py) start from.

    Built and used while holding `backbone.lock` (hooks live on the model's modules). With neither kind of
    gradient the forward runs without autograd, as cheap as a plain prediction; with `attention` it records every
    block's tokens and attention maps (`attention_layers`), with their graph, the attention run unfused. With a
    `rule` (Plugin.backward_rule) the forward runs under its hooks: the values are the same, and the input
    gradient comes back under the rule (every gradient of this pass does: only maps that want it may read one).
    """

    def __init__(
        self,
        backbone: Backbone,
        x: torch.Tensor,
        layers: Iterable[str] = (),
        gradients: bool = False,
        input_gradient: bool = False,
        attention: bool = False,
        rule: tuple[str, AbstractContextManager] | None = None,
    ):
        self.backbone = backbone
        self.rule = rule[0] if rule is not None else None  # the backward rule the graph carries (Plugin.backward_rule)
        input_gradient = input_gradient or rule is not None
        self.x = x.detach().clone().requires_grad_(True) if gradients or input_gradient or attention else x
        self.keeps_input_gradient = input_gradient
        self._gradients: dict[Any, dict[str, torch.Tensor]] = {}  # per class (one image) or (image, class)
        self.backward_passes = 0
        self._attention = attention_layers(backbone.model) if attention else []
        recorded = [*layers, *(name for pair in self._attention for name in pair)]
        with _unfused(backbone.model) if attention else nullcontext(), rule[1] if rule is not None else nullcontext():
            self.logits, self._outputs = record_forward(backbone, self.x, recorded)
        self.probabilities = self._probabilities()

    def _probabilities(self) -> torch.Tensor | None:
        raise NotImplementedError


class SharedPass(RecordedForward):
    """One forward pass of one image that records `layers`; backward passes on demand, one per class."""

    def _probabilities(self) -> torch.Tensor | None:
        return self.backbone.probabilities(logits=self.logits)

    @property
    def top1(self) -> tuple[int, str, float] | None:
        """The predicted class as (index, label, probability); None for a model with no classifier head."""
        ranked = self.backbone.ranked(self.probabilities, 1)
        return ranked[0] if ranked else None

    def activations(self, layer: str) -> torch.Tensor:
        """The recorded output of `layer` as a (1, C, h, w) map, detached."""
        return self.backbone.layout(layer).to_map(self._output(layer).detach())

    def gradients(self, target: int, layer: str) -> torch.Tensor:
        """Gradient of class `target`'s logit with respect to `layer`'s output, as a (1, C, h, w) map."""
        self._output(layer)
        return self.backbone.layout(layer).to_map(self._backward(target)[layer])

    def input_gradient(self, target: int) -> torch.Tensor:
        """Gradient of class `target`'s logit with respect to the input tensor."""
        if not self.keeps_input_gradient:
            raise RuntimeError("this pass was built without the input gradient; declare reads = ('input_gradient',)")
        return self._backward(target)[""]

    def score_gradient(self, score: Callable[[torch.Tensor], torch.Tensor], layer: str) -> torch.Tensor:
        """d score(logits) / d `layer`'s output as a (1, C, h, w) map, for a method whose class score is not one
        logit (Finer-CAM's weighted difference): one backward of its own on this pass's graph."""
        return self.backbone.layout(layer).to_map(score_gradient(score(self._graph()[0]), self._output(layer)))

    def attention_maps(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(output tokens (1, N, C), post-softmax attention (1, heads, N, N)) of each block, in order, with their
        graph: for a method that differentiates a block's own score with respect to its attention (LeGrad)."""
        if not self._attention:
            raise RuntimeError("this pass was built without attention maps; declare reads = ('attention',)")
        return [(self._outputs[block], self._outputs[maps]) for block, maps in self._attention]

    def hessian_product(self, target: int, layer: str) -> torch.Tensor:
        """H·A as a (1, C, h, w) map: the Hessian of class `target`'s logit with respect to `layer`'s output A,
        times A (ShapleyCAM's second-order term), by a double backward on this pass's graph."""
        return self.backbone.layout(layer).to_map(hessian_product(self._graph()[0, target], self._output(layer)))

    def _graph(self) -> torch.Tensor:
        if not self.x.requires_grad:
            raise RuntimeError("this pass was built without gradients; declare reads = ('gradients',)")
        return self.logits

    def _output(self, layer: str) -> torch.Tensor:
        if layer not in self._outputs:
            raise RuntimeError(f"the shared pass did not record layer {layer!r}; declare what the plugin reads")
        return self._outputs[layer]

    def backward(self, target: int) -> None:
        """Run the backward pass for class `target` now (it is otherwise run by the first map that reads it)."""
        self._backward(target)

    def _backward(self, target: int) -> dict[str, torch.Tensor]:
        """One backward pass per class gives every gradient any map of that class needs."""
        if target not in self._gradients:
            if not self.x.requires_grad:
                raise RuntimeError("this pass was built without gradients; declare reads = ('gradients',)")
            self._gradients[target] = gradients_of(
                self.logits[0, target], self._outputs, self.x if self.keeps_input_gradient else None
            )
            self.backward_passes += 1
        return self._gradients[target]


def attention_layers(model: nn.Module) -> list[tuple[str, str]]:
    """(block, attention map) module names for each block of a ViT-style timm model (`model.blocks`): the block,
    whose output is its tokens, and its attention's dropout, whose input is the post-softmax attention and whose
    output (the same, in eval) is what multiplies the values, once the attention runs unfused."""
    return [(f"blocks.{index}", f"blocks.{index}.attn.attn_drop") for index in range(len(model.blocks))]


@contextmanager
def _unfused(model: nn.Module) -> Iterator[None]:
    """Every timm attention of `model` computed step by step (softmax, then its dropout) rather than by PyTorch's
    fused kernel, which never forms the attention map; restored afterwards."""
    switched = [(module, module.fused_attn) for module in model.modules() if hasattr(module, "fused_attn")]
    try:
        for module, _ in switched:
            module.fused_attn = False
        yield
    finally:
        for module, fused in switched:
            module.fused_attn = fused


def record_forward(
    backbone: Backbone, x: torch.Tensor, layers: Iterable[str] = ()
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(logits, each of `layers`' tensor output) of one forward of `x` (a batch of any size), with autograd
    as `x` asks; a layer that gives no tensor is refused in words. Call it under `backbone.lock`."""
    names = list(dict.fromkeys(layers))
    outputs: dict[str, torch.Tensor] = {}
    model = backbone.model  # get_submodule walks the name's path: listing every module cost 3 ms a call on lite0
    handles = [model.get_submodule(name).register_forward_hook(_recorder(name, outputs)) for name in names]
    try:
        with torch.set_grad_enabled(x.requires_grad):
            logits = backbone.model(x)
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in names if name not in outputs]
    if missing:
        raise ValueError(f"{backbone.name}: layer {missing[0]!r} produced no tensor output in the forward pass.")
    return logits, outputs


def gradients_of(
    total: torch.Tensor, outputs: dict[str, torch.Tensor], x: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """d `total` / d each recorded output (and d / d the input, under "", when `x` is given), detached; zeros
    where `total` does not depend on it. The graph is kept for the next class's backward."""
    names = list(outputs) + ([""] if x is not None else [])
    tensors = list(outputs.values()) + ([x] if x is not None else [])
    grads = torch.autograd.grad(total, tensors, retain_graph=True, allow_unused=True)
    return {
        name: (grad if grad is not None else torch.zeros_like(tensor)).detach()
        for name, tensor, grad in zip(names, tensors, grads)
    }


def score_gradient(total: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """d `total` / d `output`, detached (zeros where `total` does not depend on it); the graph is kept."""
    (grad,) = torch.autograd.grad(total, output, retain_graph=True, allow_unused=True)
    return (grad if grad is not None else torch.zeros_like(output)).detach()


def hessian_product(total: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """H·A: the Hessian of `total` with respect to `output` (A) times A, detached; the graph is kept. Zero where
    the network after the layer is piecewise linear in it (ReLU, max pooling, linear layers)."""
    (grad,) = torch.autograd.grad(total, output, retain_graph=True, create_graph=True, allow_unused=True)
    if grad is None or not grad.requires_grad:  # the gradient does not depend on A: no second-order term
        return torch.zeros_like(output).detach()
    (product,) = torch.autograd.grad(grad, output, grad_outputs=output.detach(), retain_graph=True, allow_unused=True)
    return (product if product is not None else torch.zeros_like(output)).detach()


def _recorder(name: str, outputs: dict[str, torch.Tensor]):
    def hook(_module: nn.Module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            outputs[name] = output  # a module run twice keeps its last output

    return hook
