"""Turn whatever a user hands us into an 8-bit RGB PIL image, or say clearly why not.

The only entry point for pixels: uploads (paths), PIL images and numpy arrays all pass
through `to_rgb`, so greyscale, palette, RGBA, 16-bit and EXIF-rotated images behave the
same everywhere.
"""

from __future__ import annotations

import math
import threading
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

import registry.settings as settings

ORIENTATION = 274  # the EXIF tag that says how the camera was held
MAX_PIXELS = 50_000_000  # well above any photo; below what would exhaust memory
# A full-size decode above this many pixels costs tens of megabytes per copy: only a few at once.
LARGE_PIXELS = 4_000_000
_LARGE_DECODES = threading.BoundedSemaphore(settings.value("CNNLENS_LARGE_DECODES"))
# Image.reduce averages raw values: palette indices and bit-packed or 16-bit data need converting first.
_REDUCIBLE_AS = {"1": "L", "I;16": "I", "I;16B": "I", "I;16L": "I", "I;16N": "I"}


class ImageError(ValueError):
    """The input is not an image we can analyse; the message is meant for the user."""


class UnreadableImage(ImageError):
    """The file is missing or is not a decodable image (a server may answer both alike: app/uploads.py)."""


def unreadable(name: str) -> str:
    """The message for a file that is not a readable image."""
    return f"'{name}' could not be read as an image (PNG, JPEG, WebP, BMP, TIFF or GIF)."


def too_large(width: int | None = None, height: int | None = None) -> str:
    """The message for an image above the size limit (decompression bombs included)."""
    size = f"{width}x{height} pixels" if width and height else "too large"
    return f"The image is {size}; the limit is {MAX_PIXELS // 1_000_000} megapixels. Please upload a smaller image."


def load_image(path: str | Path, min_side: int | None = None) -> Image.Image:
    """Open an image file safely (size-checked, fully decoded) and return it as RGB.

    With `min_side`, a large image is decoded reduced (JPEG draft mode, then `Image.reduce` by a
    whole factor) while its short side stays at least `min_side`, so no full-resolution RGB copy
    is made; large decodes take turns (at most $CNNLENS_LARGE_DECODES at once).
    """
    return load_image_sized(path, min_side)[0]


def load_image_sized(path: str | Path, min_side: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """`load_image`, with the file's own (width, height) as a viewer shows it (EXIF turns applied), from the
    same single decode: a dataset's boxes are in those pixels, whatever size the picture is decoded at."""
    try:
        with Image.open(path) as image:
            size = image.size
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(too_large(image.width, image.height))
            if min_side:
                _draft(image, min_side)  # JPEG only: the decoder itself scales by 1/2, 1/4 or 1/8
            large = image.width * image.height > LARGE_PIXELS
            with _LARGE_DECODES if large else nullcontext():
                image.load()
                if image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8):  # after load: no second decode (PNG)
                    size = size[::-1]
                return to_rgb(_reduce(image, min_side) if min_side else image), size
    except Image.DecompressionBombError:
        raise ImageError(too_large()) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise UnreadableImage(f"No file called '{Path(path).name}'.") from None
        raise UnreadableImage(unreadable(Path(path).name)) from None


def _draft(image: Image.Image, min_side: int) -> None:
    short = min(image.size)
    if short >= 2 * min_side:
        wanted = (math.ceil(image.width * min_side / short), math.ceil(image.height * min_side / short))
        image.draft(image.mode, wanted)


def _reduce(image: Image.Image, min_side: int) -> Image.Image:
    """Shrink by the largest whole factor that keeps the short side >= min_side (EXIF kept)."""
    factor = min(image.size) // min_side
    if factor < 2:
        return image
    mode = _REDUCIBLE_AS.get(image.mode)
    if image.mode in ("P", "PA"):
        mode = "RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB"
    source = image.convert(mode) if mode else image
    reduced = source.reduce(factor)
    reduced.info = dict(image.info)  # keeps the EXIF orientation for to_rgb
    return reduced


def to_rgb(image: Image.Image | np.ndarray | str | Path) -> Image.Image:
    """Return an 8-bit RGB copy of `image`, honouring EXIF orientation and scaling deep images."""
    if isinstance(image, (str, Path)):
        return load_image(image)
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image)
    if not isinstance(image, Image.Image):
        raise ImageError(f"Expected an image, got {type(image).__name__}.")
    if image.width < 1 or image.height < 1:
        raise ImageError("The image is empty (zero pixels).")
    if image.mode == "RGB" and image.getexif().get(ORIENTATION, 1) == 1:
        return image  # already what we need: no copy
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _array_to_pil(np.asarray(image))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _array_to_pil(array: np.ndarray) -> Image.Image:
    """Scale any numeric array (H,W), (H,W,1), (H,W,3) or (H,W,4) to 8 bits."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"An image array must be HxW, HxWx3 or HxWx4; got shape {array.shape}.")
    if array.dtype == np.uint8:
        return Image.fromarray(array)
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise ImageError("The image holds NaN or infinite values.")
    if np.issubdtype(array.dtype, np.integer) and values.min() >= 0 and values.max() <= 255:
        return Image.fromarray(values.astype(np.uint8))
    # Deeper data (16-bit scans, float arrays): stretch its own range to 8 bits, as viewers do.
    low, high = values.min(), values.max()
    if np.issubdtype(array.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8))
