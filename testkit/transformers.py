"""Small transformers with seeded random weights, shared by the registry and plugin tests.

No Hub here, so weights are random; only the structure matters for these tests. Each is the
smallest timm model of its kind: a ViT (class token), a distilled DeiT (class + distillation
tokens), a Swin shrunk through timm's own arguments (NHWC stages), a DINOv2 ViT with four
register tokens at 112 px (an 8×8 grid: neither 224 nor 14×14) and an EVA-02 (16×16, averages);
the last two are headless in timm, so they get an ImageNet-sized head.
"""

from __future__ import annotations

import functools

import timm
import torch

import registry

BUILD = {
    "vit": ("vit_tiny_patch16_224", {}),
    "deit": ("deit_tiny_distilled_patch16_224", {}),
    "swin": ("swin_tiny_patch4_window7_224", {"embed_dim": 32, "depths": (1, 1, 2, 1), "num_heads": (1, 2, 4, 8)}),
    "registers": (
        "vit_small_patch14_reg4_dinov2",
        {"num_classes": 1000, "img_size": 112, "pretrained_cfg_overlay": {"input_size": (3, 112, 112)}},
    ),
    "eva": ("eva02_tiny_patch14_224", {"num_classes": 1000}),  # timm builds it headless (MIM weights)
}


@functools.cache
def transformer(kind: str) -> registry.Backbone:
    """The backbone for `kind` (one of BUILD), built once per test session."""
    name, settings = BUILD[kind]
    torch.manual_seed(0)
    return registry.Backbone(name, timm.create_model(name, **settings), torch.device("cpu"), "seeded random", True)


def tokens_to_maps(model: torch.nn.Module):
    """pytorch-grad-cam's documented `reshape_transform`, written from the model's attributes: the
    independent side of the agreement tests."""
    prefix = getattr(model, "num_prefix_tokens", 0)
    height, width = model.patch_embed.grid_size

    def transform(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.ndim == 4:  # Swin: (B, H, W, C)
            return tensor.permute(0, 3, 1, 2)
        return tensor[:, prefix:].reshape(tensor.shape[0], height, width, tensor.shape[2]).permute(0, 3, 1, 2)

    return transform
