"""timm's test_resnet with seeded random weights at a small input size: equality with a peer in milliseconds a pass."""

import timm
import torch
from timm.data import resolve_data_config

import registry

__all__ = ["small_test_resnet"]


def small_test_resnet(pixels: int) -> registry.Backbone:
    """test_resnet (seed 0) whose images are prepared at `pixels` × `pixels`: only the structure matters for
    comparing a method with its peer, and every channel is scored in a second or two."""
    torch.manual_seed(0)
    model = timm.create_model("test_resnet")
    config = {**resolve_data_config({}, model=model), "input_size": (3, pixels, pixels), "crop_pct": 1.0}
    return registry.Backbone("test_resnet", model, torch.device("cpu"), "seeded random", True, data_config=config)
