"""The CNN backbones and layers the CAM family is checked on (tests) and measured on (benchmarks)."""

__all__ = ["CASES"]

# (timm name, layer or None for the backbone's default): three architectures, each at its default and a middle layer
CASES = [
    ("tf_efficientnet_lite0", None),
    ("tf_efficientnet_lite0", "blocks.4"),
    ("resnet18", None),
    ("resnet18", "layer3"),
    ("convnext_atto", None),
    ("convnext_atto", "stages.2"),
]
