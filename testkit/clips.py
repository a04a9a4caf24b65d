"""Clips for Chromium's fake camera: a bundled sample moving across a plain grey frame, as raw Y4M.

Shared by the Live tab's browser test (tests/app/test_live_browser.py) and `scripts/screenshot.py --live`. Chromium's
`--use-file-for-fake-video-capture` plays (and loops) a Y4M file: YUV 4:2:0 planes, no codec, so nothing to install.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from registry.imaging import EXAMPLES

__all__ = ["y4m"]


def y4m(path: Path, count: int = 8, side: int = 96, sample: str = "cat", fps: int = 10) -> Path:
    """A raw YUV 4:2:0 clip of `sample` (a file in examples/, without its suffix) crossing a grey square from left to
    right in `count` frames of `side` pixels."""
    picture = Image.open(EXAMPLES / f"{sample}.png").convert("RGB")
    picture.thumbnail((side * 6 // 10, side * 6 // 10))
    half = side // 2
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{side} H{side} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for number in range(count):
            canvas = Image.new("RGB", (side, side), (128, 128, 128))
            canvas.paste(picture, (number * (side - picture.width) // (count - 1), (side - picture.height) // 2))
            luma, blue, red = canvas.convert("YCbCr").split()
            handle.write(b"FRAME\n" + luma.tobytes())
            for plane in (blue, red):
                handle.write(plane.resize((half, half), Image.Resampling.BILINEAR).tobytes())
    return path
