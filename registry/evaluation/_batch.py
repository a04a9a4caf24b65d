"""The shared pass over a batch: one forward for B images, one backward per target slot for all of them.

In eval mode the images of a batch are independent (batch norm uses its running statistics), so the gradient
of Σ_i logit_i[t_i] with respect to a layer's output is, in row i, the gradient of image i's own target logit:
one backward gives every image its gradients. `ImagePass` then hands a plugin one image's slice with the
interface of `SharedPass` (registry/methods/_shared_pass.py), so the CAM family and saliency compute from a
batch unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from registry.methods._shared_pass import RecordedForward, gradients_of, hessian_product, score_gradient

__all__ = ["BatchPass", "ImagePass"]


class BatchPass(RecordedForward):
    """One forward pass of a (B, C, H, W) batch recording `layers`; `backward(targets)` for a class per image.

    Built and used under `backbone.lock`. With neither kind of gradient the forward runs without autograd.
    """

    def _probabilities(self) -> torch.Tensor | None:
        return self.backbone.activate(self.logits).cpu() if self.backbone.num_classes else None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def backward(self, targets: Sequence[int | None]) -> None:
        """Gradients of every image's class `targets[i]` (None: skip that image) in one backward pass."""
        wanted = [(i, int(t)) for i, t in enumerate(targets) if t is not None and (i, int(t)) not in self._gradients]
        if not wanted:
            return
        if not self.x.requires_grad:
            raise RuntimeError("this batch pass was built without gradients")
        rows = torch.tensor([i for i, _ in wanted], device=self.logits.device)
        columns = torch.tensor([t for _, t in wanted], device=self.logits.device)
        grads = gradients_of(
            self.logits[rows, columns].sum(), self._outputs, self.x if self.keeps_input_gradient else None
        )
        for i, target in wanted:  # row i of each gradient is image i's own target's
            self._gradients[(i, target)] = {name: grad[i : i + 1] for name, grad in grads.items()}
        self.backward_passes += 1

    def image(self, index: int) -> ImagePass:
        """Image `index`'s share of the pass, shaped as a one-image `SharedPass`."""
        return ImagePass(self, index)


class ImagePass:
    """One image of a `BatchPass`, with `SharedPass`'s interface (what `Context` reads)."""

    def __init__(self, batch: BatchPass, index: int):
        self.batch, self.index = batch, index
        self.backbone = batch.backbone
        self.x = batch.x[index : index + 1].detach()
        self.keeps_input_gradient = batch.keeps_input_gradient
        self.rule = batch.rule  # no backward rule: a batch pass is plain (Plugin.backward_rule)
        self.logits = batch.logits[index : index + 1].detach()
        self.probabilities = batch.probabilities[index] if batch.probabilities is not None else torch.empty(0)

    @property
    def top1(self) -> tuple[int, str, float] | None:
        ranked = self.backbone.ranked(self.probabilities, 1)
        return ranked[0] if ranked else None

    @property
    def backward_passes(self) -> int:
        return self.batch.backward_passes

    def activations(self, layer: str) -> torch.Tensor:
        return self.backbone.layout(layer).to_map(self._output(layer)[self.index : self.index + 1].detach())

    def gradients(self, target: int, layer: str) -> torch.Tensor:
        self._output(layer)
        return self.backbone.layout(layer).to_map(self._backward(target)[layer])

    def input_gradient(self, target: int) -> torch.Tensor:
        if not self.keeps_input_gradient:
            raise RuntimeError("this pass was built without the input gradient")
        return self._backward(target)[""]

    def backward(self, target: int) -> None:
        self._backward(target)

    def score_gradient(self, score: Callable[[torch.Tensor], torch.Tensor], layer: str) -> torch.Tensor:
        """Row `index` of d score(this image's logits) / d the layer's output (the images of a batch are
        independent, so the other rows are zero)."""
        output = self._output(layer)
        grad = score_gradient(score(self._graph()[self.index]), output)
        return self.backbone.layout(layer).to_map(grad[self.index : self.index + 1])

    def hessian_product(self, target: int, layer: str) -> torch.Tensor:
        output = self._output(layer)
        product = hessian_product(self._graph()[self.index, int(target)], output)
        return self.backbone.layout(layer).to_map(product[self.index : self.index + 1])

    def _graph(self) -> torch.Tensor:
        if not self.batch.x.requires_grad:
            raise RuntimeError("this batch pass was built without gradients")
        return self.batch.logits

    def _output(self, layer: str) -> torch.Tensor:
        if layer not in self.batch._outputs:
            raise RuntimeError(f"the batch pass did not record layer {layer!r}")
        return self.batch._outputs[layer]

    def _backward(self, target: int) -> dict[str, torch.Tensor]:
        key = (self.index, int(target))
        if key not in self.batch._gradients:  # a class the batch's slots did not cover: this image alone
            targets: list[int | None] = [None] * len(self.batch)
            targets[self.index] = int(target)
            self.batch.backward(targets)
        return self.batch._gradients[key]
