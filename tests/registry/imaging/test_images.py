"""Every kind of image a user may upload becomes 8-bit RGB, or a clear error."""

import numpy as np
import pytest
from PIL import Image

from registry import ImageError, load_image, to_rgb
from registry.imaging import load_image_sized


def test_greyscale_sample_becomes_rgb(samples):
    image = load_image(samples["camera-gray"])
    assert Image.open(samples["camera-gray"]).mode == "L"
    assert image.mode == "RGB" and image.size == (512, 512)
    r, g, b = image.split()
    assert np.array_equal(np.asarray(r), np.asarray(g)) and np.array_equal(np.asarray(g), np.asarray(b))


def test_rgba_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    path = tmp_path / "clear.png"
    rgba.save(path)
    assert load_image(path).getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_keeps_its_contrast(tmp_path):
    ramp = (np.linspace(0, 4000, 64 * 64).reshape(64, 64)).astype(np.uint16)
    path = tmp_path / "scan16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(load_image(path))[..., 0]
    assert pixels.min() == 0 and pixels.max() == 255  # stretched, not clipped to white


def test_float_and_palette_inputs():
    assert to_rgb(np.random.default_rng(0).random((10, 12))).size == (12, 10)
    assert to_rgb(Image.new("P", (5, 5))).mode == "RGB"
    with pytest.raises(ImageError, match="NaN"):
        to_rgb(np.full((4, 4), np.nan))


def test_not_an_image_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is text, not pixels")
    with pytest.raises(ImageError, match="could not be read as an image"):
        load_image(path)
    with pytest.raises(ImageError, match="No file called 'missing.png'") as refused:
        load_image(tmp_path / "missing.png")
    assert str(tmp_path) not in str(refused.value)  # never a server path


def test_exif_rotation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = image.getexif()
    exif[274] = 6  # rotate 90° clockwise when displayed
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert load_image(path).size == (20, 40)


def test_oversized_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (10_000, 6_000)).save(path)  # 60 megapixels in a few kilobytes
    with pytest.raises(ImageError, match="10000x6000 pixels; the limit is 50 megapixels"):
        load_image(path)


def test_an_upright_rgb_image_is_not_copied():
    image = Image.new("RGB", (6, 4))
    assert to_rgb(image) is image
    assert to_rgb(Image.new("L", (6, 4))) is not image


def test_decompression_bomb_gets_the_size_limit_message(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path)  # 400 megapixels: Pillow itself refuses to open it
    with pytest.raises(ImageError, match="too large; the limit is 50 megapixels"):
        load_image(path)


@pytest.mark.parametrize(
    "suffix,mode", [(".png", "RGB"), (".jpg", "RGB"), (".png", "P"), (".png", "I;16"), (".png", "1")]
)
def test_large_images_are_decoded_reduced_but_never_below_min_side(tmp_path, suffix, mode):
    ramp = np.linspace(0, 255, 3000 * 2100).reshape(2100, 3000).astype(np.uint8)
    image = Image.fromarray(np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], -1))
    image = (
        image.convert("P")
        if mode == "P"
        else Image.fromarray(ramp.astype(np.uint16) * 200)
        if mode == "I;16"
        else image.convert("1")
        if mode == "1"
        else image
    )
    path = tmp_path / f"big{suffix}"
    image.save(path)
    full, reduced = load_image(path), load_image(path, min_side=512)
    assert full.size == (3000, 2100) and reduced.mode == "RGB"
    assert 512 <= min(reduced.size) < 1024 and reduced.width / reduced.height == pytest.approx(3000 / 2100, rel=0.02)
    small = full.resize(reduced.size, Image.Resampling.BOX)  # same picture, just fewer pixels
    assert np.abs(np.asarray(small, float) - np.asarray(reduced, float)).mean() < (40 if mode == "1" else 3)


def test_small_images_are_not_reduced(samples):
    assert load_image(samples["coffee"], min_side=512).size == load_image(samples["coffee"]).size == (600, 400)


def test_reduced_decoding_keeps_exif_rotation(tmp_path):
    image = Image.new("RGB", (3000, 2000), (0, 0, 255))
    exif = image.getexif()
    exif[274] = 6
    for suffix in (".jpg", ".png"):
        image.save(tmp_path / f"rotated{suffix}", exif=exif)
        width, height = load_image(tmp_path / f"rotated{suffix}", min_side=512).size
        assert height > width >= 512


def test_the_files_own_size_comes_from_the_same_decode_turned_as_a_viewer_shows_it(tmp_path):
    image = Image.new("RGB", (3000, 2000), (0, 0, 255))
    exif = image.getexif()
    exif[274] = 6  # shown a quarter turn: 2000 wide, 3000 high
    for suffix in (".jpg", ".png"):
        image.save(tmp_path / f"rotated{suffix}", exif=exif)
        picture, size = load_image_sized(tmp_path / f"rotated{suffix}", min_side=512)
        assert size == (2000, 3000) and picture.height > picture.width >= 512 and picture.width < 2000
    image.save(tmp_path / "upright.png")
    assert load_image_sized(tmp_path / "upright.png")[1] == (3000, 2000)
