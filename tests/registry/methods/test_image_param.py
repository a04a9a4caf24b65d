"""A parameter of kind image: a second picture, checked by the imaging room's one path; text never becomes a path."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from registry import Param, PluginSpecError
from registry.imaging import MAX_PIXELS, sample_paths


def style() -> Param:
    return Param("style", "image", "starry-night", choices=("starry-night", "ihc"))


def test_a_bundled_name_a_picture_an_array_and_a_path_are_taken():
    param = style()
    assert param.coerce(None) == "starry-night" and param.coerce("ihc") == "ihc"
    assert param.picture("ihc").size == Image.open(sample_paths()["ihc"]).size
    turned = param.coerce(np.zeros((8, 6, 4), dtype=np.uint8))  # RGBA array: onto white, as every image
    assert turned.mode == "RGB" and turned.size == (6, 8)
    assert param.coerce(Path(sample_paths()["cat"])).size == (451, 300)


@pytest.mark.parametrize("value", ["/etc/passwd", "cat.png", 3, {"path": "/tmp/x.png"}])
def test_text_numbers_and_file_references_are_refused_in_words(value):
    with pytest.raises(ValueError, match="Style must be one of starry-night, ihc or an image"):
        style().coerce(value)


def test_a_hostile_file_and_a_huge_picture_are_refused_like_any_upload(tmp_path):
    fake = tmp_path / "style.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ValueError, match="could not be read as an image"):
        style().coerce(fake)
    huge = Image.new("L", (MAX_PIXELS // 1000 + 1, 1000))  # 50 MB, refused before any conversion
    with pytest.raises(ValueError, match="megapixels"):
        style().coerce(huge)


def test_a_choice_that_is_not_a_bundled_picture_is_a_declaration_error():
    with pytest.raises(PluginSpecError, match="not a bundled sample image"):
        Param("style", "image", None, choices=("mona-lisa",))
