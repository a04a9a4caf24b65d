"""The Live tab: a webcam frame through its handler (overlay, top-3, frames per second; a heavy method refused in a
sentence) and /video through the served app (an MP4, the timeline and the rows; a bad video refused in words and the
next request served)."""

from __future__ import annotations

import base64
import csv
import io
import struct
import zlib

import gradio as gr
import pytest
from gradio.data_classes import ImageData
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from app import controls, live_tab
from registry.imaging import EXAMPLES, MAX_PIXELS, frames
from tests.registry.video.test_explain_video import moving_cat


def test_a_webcam_frame_gets_its_overlay_top3_and_rate():
    state = None
    for _ in range(2):
        overlay, top, rate, state = live_tab.run_webcam(
            Image.open(EXAMPLES / "cat.png"), "gradcam", "tf_efficientnet_lite0", False, state
        )
    assert isinstance(overlay, Image.Image) and len(top) == 3
    assert any("cat" in label for label in top) and "frames per second" in rate and len(state["times"]) == 2
    with pytest.raises(gr.Error, match="too slow for a live stream"):
        live_tab.run_webcam(Image.open(EXAMPLES / "cat.png"), "occlusion", "tf_efficientnet_lite0", False, None)


def test_the_video_endpoint_gives_an_mp4_the_timeline_and_rows(client, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(AppError, match="could not be read as a video"):
        client.predict(handle_file(str(bad)), "gradcam", 3, 0.0, "tf_efficientnet_lite0", False, api_name="/video")
    clip = tmp_path / "clip.mp4"
    moving_cat(clip, 48, 6)
    video, timeline, rows, note = client.predict(
        handle_file(str(clip)), "gradcam", 3, 0.0, "tf_efficientnet_lite0", False, api_name="/video"
    )
    path = video["video"] if isinstance(video, dict) else video
    assert [frame.index for frame in frames(path)] == [0, 1]  # frames 0 and 3 of the source
    assert Image.open(timeline).size[0] > 400 and "2 frames explained" in note
    with open(rows, newline="") as handle:
        assert [row["frame"] for row in csv.DictReader(handle)] == ["0", "3"]


def test_the_rate_is_measured_over_the_last_frames_and_afresh_after_a_pause():
    times = None
    for now in (0.0, 0.5, 1.0):
        times = live_tab.frame_times({"times": times} if times else None, now)
    assert live_tab.rate_words(times) == "**2.0 frames per second** explained"
    assert live_tab.frame_times({"times": times}, 1.0 + live_tab.PAUSE + 1) == [1.0 + live_tab.PAUSE + 1]
    assert "follow" in live_tab.rate_words([3.0])
    assert len(live_tab.frame_times({"times": [t / 10 for t in range(30)]}, 3.0)) == live_tab.FPS_WINDOW


def data_url(data: bytes, kind: str = "png") -> ImageData:
    return ImageData(url=f"data:image/{kind};base64," + base64.b64encode(data).decode())


def png_header(width: int, height: int) -> bytes:
    """A PNG's signature, its header chunk declaring width × height, and an empty data chunk: no pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", b"")
    )


def test_camera_frames_are_judged_on_their_data_before_decoding():
    camera = controls.CameraFrames(sources=["webcam"], streaming=True, type="pil")
    frame = io.BytesIO()
    Image.open(EXAMPLES / "cat.png").convert("RGB").resize((64, 48)).save(frame, "PNG")
    assert camera.preprocess(data_url(frame.getvalue())).size == (64, 48)
    with pytest.raises(gr.Error, match="8000x7000 pixels; the limit is 50 megapixels"):
        camera.preprocess(data_url(png_header(8000, 7000)))  # a few bytes declaring 56 megapixels
    with pytest.raises(gr.Error, match="could not be read as an image"):
        camera.preprocess(data_url(b"not a picture at all"))
    big = data_url(frame.getvalue() * 200).url  # about 1.4 MB of data: more than 0.1 megapixel can take
    assert "more than a picture within the 0.1-megapixel limit" in controls.frame_refusal(big, max_pixels=100_000)
    assert controls.frame_refusal(data_url(frame.getvalue()).url, max_pixels=100_000) is None
    assert controls.frame_url_limit() > 4 * MAX_PIXELS * 4 // 3  # an uncompressed RGBA frame at the cap passes
