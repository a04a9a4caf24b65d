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


# torchvision's names for the tensors of an encoder block → timm's (the Q, K, V projection is handled apart)
_BLOCK_NAMES = (("ln_1", "norm1"), ("self_attention.out_proj", "attn.proj"), ("ln_2", "norm2"), ("mlp.0", "mlp.fc1"))
_BLOCK_NAMES += (("mlp.3", "mlp.fc2"),)


def torchvision_twin(model: torch.nn.Module) -> torch.nn.Module:
    """torchvision's VisionTransformer of a plain timm ViT's shape (class token, LayerNorms, one linear head),
    carrying its weights: the same network under torchvision's code, for peers that read only torchvision's
    attention modules (torch-cam's LeGrad). Callers check the logits agree."""
    from torchvision.models.vision_transformer import VisionTransformer

    first = model.blocks[0]
    twin = VisionTransformer(
        image_size=int(model.patch_embed.img_size[0]),
        patch_size=int(model.patch_embed.patch_size[0]),
        num_layers=len(model.blocks),
        num_heads=first.attn.num_heads,
        hidden_dim=model.embed_dim,
        mlp_dim=first.mlp.fc1.out_features,
        num_classes=model.num_classes,
    )
    state = {
        "class_token": model.cls_token,
        "conv_proj.weight": model.patch_embed.proj.weight,
        "conv_proj.bias": model.patch_embed.proj.bias,
        "encoder.pos_embedding": model.pos_embed,
        "encoder.ln.weight": model.norm.weight,
        "encoder.ln.bias": model.norm.bias,
        "heads.head.weight": model.head.weight,
        "heads.head.bias": model.head.bias,
    }
    for index, block in enumerate(model.blocks):
        ours, layer = dict(block.named_parameters()), f"encoder.layers.encoder_layer_{index}."
        for suffix in ("weight", "bias"):
            state[f"{layer}self_attention.in_proj_{suffix}"] = ours[f"attn.qkv.{suffix}"]  # q, k, v stacked alike
            for their_name, our_name in _BLOCK_NAMES:
                state[f"{layer}{their_name}.{suffix}"] = ours[f"{our_name}.{suffix}"]
    twin.load_state_dict({name: tensor.detach().clone() for name, tensor in state.items()})
    return twin.eval()
