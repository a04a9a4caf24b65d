"""registry.explain_video on a clip the test makes: the bundled cat moving across a grey background. With the real
default backbone the heat centroid follows the cat and the top class stays a cat; with a tiny model the frame
counts, files and refusals (every hostile video a sentence)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

import registry
from registry.imaging import EXAMPLES, VideoError, VideoWriter, frames, labelled_samples

SIDE, FRAMES, FPS = 96, 12, 10


def moving_cat(path, side: int = SIDE, count: int = FRAMES) -> list[tuple[float, float]]:
    """A clip of the cat sample crossing a grey frame (right and down, along a curve); the cat's centre per frame."""
    cat = Image.open(EXAMPLES / "cat.png").convert("RGB")
    cat.thumbnail((side * 6 // 10, side * 6 // 10))
    centres = []
    with VideoWriter(path, FPS, (side, side)) as writer:
        for number in range(count):
            t = number / (count - 1)
            x, y = int(t * (side - cat.width)), int((0.15 + 0.7 * t**2) * (side - cat.height))
            canvas = Image.new("RGB", (side, side), (128, 128, 128))
            canvas.paste(cat, (x, y))
            writer.write(canvas)
            centres.append((x + cat.width / 2, y + cat.height / 2))
    return centres


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "cat.mp4"
    return path, moving_cat(path)


@pytest.fixture(scope="module")
def explained(clip, lite0, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "cat-gradcam.mp4"
    return registry.explain_video(clip[0], lite0, "gradcam", every=1, out=out)


def test_the_heat_follows_the_cat_and_the_top_class_stays_a_cat(clip, explained):
    truth = np.array(clip[1])
    heat = np.array([(row["heat_x"], row["heat_y"]) for row in explained.rows])
    assert [row["frame"] for row in explained.rows] == list(range(FRAMES))
    for axis in (0, 1):
        assert np.corrcoef(truth[:, axis], heat[:, axis])[0, 1] >= 0.9
    cats = set(labelled_samples()["cat"].classes)
    assert {row["top1"] for row in explained.rows} <= cats
    assert not explained.changes and explained.stopped is None


def test_the_files_hold_every_frame(explained):
    assert [frame.index for frame in frames(explained.video)] == list(range(FRAMES))
    assert pq.read_table(explained.parquet).num_rows == FRAMES
    assert explained.csv.read_text().splitlines()[0].split(",") == list(registry.VIDEO_COLUMNS)
    assert len(explained.csv.read_text().splitlines()) == FRAMES + 1
    assert Image.open(explained.image).size[0] > 400  # the timeline


def test_every_nth_frame_smoothed_and_its_progress(clip, tiny):
    told = []
    result = registry.explain_video(
        clip[0], tiny, "saliency", every=5, smoothing=0.5, batch_size=2, progress=lambda f, w: told.append(f)
    )
    assert [row["frame"] for row in result.rows] == [0, 5, 10]
    assert [round(row["time"], 2) for row in result.rows] == [0.0, 0.5, 1.0]
    assert result.video is None and told[-1] == 1.0 and result.fps == FPS / 5


def test_a_stopped_request_keeps_its_frames(clip, tiny):
    with registry.request_scope(abandoned=lambda: True):
        result = registry.explain_video(clip[0], tiny, "gradcam", every=1, batch_size=4)
    assert "cancelled" in result.stopped and len(result.rows) < FRAMES


def _zero_frames(path):
    with VideoWriter(path, FPS, (32, 32)):
        pass


@pytest.mark.parametrize(
    ("make", "env", "words"),
    [
        (lambda path: path.write_bytes(b"not a video at all"), {}, "could not be read as a video"),
        (_zero_frames, {}, "could not be read as a video|has no frames"),
        (lambda path: moving_cat(path, 64, 4), {"CNNLENS_VIDEO_MAX_PIXELS": "1000"}, "the limit is 1,000 pixels"),
        (lambda path: moving_cat(path, 32, 30), {"CNNLENS_VIDEO_MAX_SECONDS": "1"}, "lasts 3 s; the limit is 1 s"),
        (lambda path: moving_cat(path, 32, 4), {"CNNLENS_VIDEO_MAX_MB": "0.0001"}, "the limit is 0.0001 MB"),
    ],
)
def test_hostile_videos_are_refused_in_words(tmp_path, monkeypatch, tiny, make, env, words):
    path = tmp_path / "hostile.mp4"
    make(path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(VideoError, match=words):
        registry.explain_video(path, tiny, "gradcam", every=1)


def test_a_truncated_video_is_refused_in_words(clip, tmp_path, tiny):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip[0].read_bytes()[: clip[0].stat().st_size // 2])
    with pytest.raises(VideoError, match="could not be read as a video|breaks off"):
        registry.explain_video(cut, tiny, "gradcam", every=1)
