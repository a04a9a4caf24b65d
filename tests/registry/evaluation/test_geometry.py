"""Boxes in the file's pixels land where timm's resize and centre crop put them in the model view."""

import numpy as np
import pytest
import torch
from PIL import Image

from registry.evaluation import ViewMaker
from registry.evaluation._geometry import geometry


def _square_picture(size, box):
    picture = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    x0, y0, x1, y1 = box
    picture[y0:y1, x0:x1] = 255
    return Image.fromarray(picture)


def test_view_maker_prepares_as_the_backbone_does(tiny, lite0, samples):
    for backbone in (tiny, lite0):
        maker = ViewMaker(backbone.data_config)
        for stem in ("cat", "camera-gray"):
            picture, size = maker.picture(samples[stem])
            x, view = maker.view(picture)
            expected, expected_view = backbone.prepare(samples[stem])
            assert torch.equal(x.unsqueeze(0), expected.cpu()) and view.size == expected_view.size
            assert size == Image.open(samples[stem]).size


@pytest.mark.parametrize(
    ("size", "box"),
    [((451, 300), (100, 40, 220, 200)), ((300, 600), (30, 200, 150, 420)), ((2400, 1600), (1000, 300, 1600, 900))],
)
def test_a_box_lands_where_the_pixels_go(tmp_path, lite0, size, box):
    """The square's edges in the view, found in the pixels, match the box carried by the geometry (to a pixel);
    the large file is decoded reduced, which the geometry accounts for."""
    path = tmp_path / "square.png"
    _square_picture(size, box).save(path)
    maker = ViewMaker(lite0.data_config)
    picture, original = maker.picture(path)
    _, view = maker.view(picture)
    if size[0] > 2000:
        assert picture.size != original  # decoded reduced
    where = maker.geometry(original, picture.size)
    bright = np.asarray(view.convert("L")) > 127
    rows, columns = np.nonzero(bright)
    u0, v0, u1, v1 = where.box_in_view(box)
    assert abs(columns.min() - u0) <= 1 and abs(columns.max() + 1 - u1) <= 1
    assert abs(rows.min() - v0) <= 1 and abs(rows.max() + 1 - v1) <= 1
    assert abs(where.box_mask(box).sum() - bright.sum()) <= 2 * (bright.shape[0] + bright.shape[1])
    # and back: the view's centre is the file's centre, to within a view pixel (the crop rounds to whole pixels)
    x, y = where.to_image(view.width / 2, view.height / 2)
    assert abs(x - size[0] / 2) <= 1 / where.scale[0] and abs(y - size[1] / 2) <= 1 / where.scale[1]
    assert where.to_view(*where.to_image(10.0, 20.0)) == pytest.approx((10.0, 20.0))


def test_masks_follow_the_same_map(lite0):
    maker = ViewMaker(lite0.data_config)
    where = maker.geometry((451, 300), (451, 300))
    mask = np.zeros((300, 451), dtype=bool)
    mask[40:200, 100:220] = True
    assert np.array_equal(where.view_mask(mask), where.box_mask((100, 40, 220, 200)))


def test_hand_computed_resize_and_crop(lite0):
    """451×300 → short side 256: 384×256 (int(256 × 451 / 300) = 384), then the centre 224: 80 off the left
    (round((384 − 224) / 2)), 16 off the top."""
    steps = ViewMaker(lite0.data_config).geometry_steps
    where = geometry(steps, (451, 300))
    assert where.view_size == (224, 224)
    assert where.scale == pytest.approx((384 / 451, 256 / 300)) and where.offset == pytest.approx((80, 16))
