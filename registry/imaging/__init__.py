"""Imaging, the lowest room: decoding images (the one path an image takes in), the bundled samples, and render
(the one place numbers become pictures). It imports nothing else from the registry."""

from __future__ import annotations

from registry.imaging import render, samples
from registry.imaging._decode import (
    LARGE_PIXELS,
    MAX_PIXELS,
    ImageError,
    UnreadableImage,
    load_image,
    load_image_sized,
    to_rgb,
    too_large,
    unreadable,
)
from registry.imaging.samples import EXAMPLES, Sample, identify, labelled_samples, sample_paths

__all__ = [
    "EXAMPLES",
    "LARGE_PIXELS",
    "MAX_PIXELS",
    "ImageError",
    "Sample",
    "UnreadableImage",
    "identify",
    "labelled_samples",
    "load_image",
    "load_image_sized",
    "render",
    "sample_paths",
    "samples",
    "to_rgb",
    "too_large",
    "unreadable",
]
