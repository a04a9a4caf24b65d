"""The settings several plugins offer alike, one factory each: the same name, range and meaning everywhere.

A plugin passes only what is its own (a default, a label, a sentence of help); the rest is written once.
"""

from __future__ import annotations

from registry.methods._attribution import SEED, SIGNS
from registry.methods._params import Param

__all__ = [
    "batch_param",
    "channel_cap_param",
    "noise_param",
    "sampled_score_params",
    "samples_param",
    "seed_param",
    "sign_param",
]


def sign_param(default: str = "all") -> Param:
    """The positive / negative / absolute choice every signed method offers."""
    return Param(
        "sign",
        "choice",
        default,
        label="Show",
        choices=SIGNS,
        help="all: red raises the class score, blue lowers it; or only one side, or the magnitude.",
    )


def seed_param() -> Param:
    """The noise seed every sampling method offers: the same seed, the same map; another shows the noise's share."""
    return Param(
        "seed",
        "int",
        SEED,
        label="Noise seed",
        minimum=0,
        maximum=9999,
        step=1,
        help="The same seed gives the same map; try another to see how much of the map is the noise's doing.",
    )


def batch_param(default: int, maximum: int, help: str, label: str = "Batch size", name: str = "batch_size") -> Param:
    """How many inputs go through the model at once: every batched method offers it, to bound memory."""
    return Param(name, "int", default, label=label, minimum=1, maximum=maximum, step=1, help=help)


def channel_cap_param(label: str, help: str, default: int = 96) -> Param:
    """How many of the most active channels a per-channel method (Score-CAM, Ablation-CAM) tries; the rest weigh 0."""
    return Param("channels", "int", default, label=label, minimum=1, maximum=4096, step=1, help=help)


def samples_param(label: str, help: str, default: int = 12) -> Param:
    """How many noisy samples a sampling method (SmoothGrad, GradientSHAP) averages."""
    return Param("samples", "int", default, label=label, minimum=1, maximum=200, step=1, help=help)


def noise_param(default: float, help: str) -> Param:
    """The noise a sampling method adds, as a fraction of the input's range."""
    return Param("noise", "float", default, label="Noise level", minimum=0.0, maximum=1.0, step=0.01, help=help)


def sampled_score_params(samples_label: str, samples_help: str) -> tuple[Param, ...]:
    """The channel cap, samples a channel and batch every sampled Score-CAM (SS-CAM, IS-CAM) offers: cheap defaults
    (12 channels × 3 samples, 36 masked passes; torch-cam scores every channel 35 or 10 times)."""
    return (
        channel_cap_param(
            "Channels scored (cap)", "The most active channels are scored, one masked pass a sample each.", default=12
        ),
        samples_param(samples_label, samples_help, default=3),
        batch_param(8, 64, "Bounds memory: this many masked images go through the model at once.", label="Batch"),
    )
