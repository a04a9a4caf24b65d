"""Result pictures: each written once to its own file inside Gradio's cache."""

from PIL import Image

from app import results


def test_the_same_picture_twice_gives_two_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    picture = Image.new("RGB", (8, 8), (200, 10, 10))
    first, second = results.save_unique(picture, "gradcam"), results.save_unique(picture, "gradcam")
    assert first != second
    for path in (first, second):
        assert path.startswith(str(tmp_path.resolve())) and path.endswith(".png")
        assert Image.open(path).getpixel((3, 3)) == (200, 10, 10)
