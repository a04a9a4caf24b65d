"""The Live tab: the webcam explained frame by frame, and a video explained into an overlaid MP4, a timeline and
rows (`registry.explain_video`).

The webcam streams through Gradio's `.stream`: one long-lived event per visitor's recording, to which the browser
posts a frame every STREAM_EVERY seconds; Gradio keeps only the latest frame posted (each replaces the one before),
and the handler takes it when the previous frame is done: frames are dropped, never queued, so the overlay lags by
at most one frame. Gradio's default trigger mode for a stream ("multiple") is needed: "always_last" made Gradio 6.31's
front end send the first frame only, so the page showed one overlay and "0.0 frames per second" for the whole
recording. One stream is explained at a time on the server (`concurrency_limit=1`); the others wait in the queue,
and a visitor's stream ends after CNNLENS_LIVE_SECONDS (a Space shares its processor). Light methods only (one pass
a frame); the page's backbone, a model of one's own included.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

import registry
from app import controls, handlers, results, script_api, uploads
from app.page import Page, Results, TabParts
from app.requests import gpu, lane
from registry import settings
from registry.imaging import MAX_PIXELS, VIDEO_SUFFIXES, render, too_large
from registry.video import FrameExplainer, frame_caption

__all__ = ["build", "frame_times", "rate_words", "run_video", "run_webcam"]

STREAM_EVERY = 0.25  # seconds between the frames the browser sends; the server drops what it cannot keep up with
FPS_WINDOW = 10  # frames the shown rate is averaged over
PAUSE = 10.0  # seconds without a frame after which the rate is measured afresh (a new recording)
INTRO = """Hold something in front of your camera and watch where the model looks, frame by frame, with the top-3
classes and the frames per second achieved; or upload a video: every n-th frame is explained into an MP4 with the map
over each frame, a timeline of the top class and where the heat sits, and a row per frame (CSV). The backbone is the
one chosen above (your own model too). The webcam takes the light methods (one pass a frame)."""


def light_methods() -> list[str]:
    return [p.name for p in registry.list_plugins() if p.output == "heatmap" and p.cost == "light"]


def heatmap_methods() -> list[str]:
    return [p.name for p in registry.list_plugins() if p.output == "heatmap"]


def build(page: Page) -> TabParts:
    """Lay out the webcam and the video parts; the video's results go stale with its own inputs and the backbone."""
    with gr.Tab("Live", id="live", elem_id="tab-live"):
        gr.Markdown(INTRO)
        _webcam(page)
        shown, reads = _video(page)
    return TabParts(results=(Results(shown, reads),))


def _webcam(page: Page) -> None:
    seconds = settings.value("CNNLENS_LIVE_SECONDS")
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            camera = controls.CameraFrames(
                sources=["webcam"], streaming=True, type="pil", label="Your camera", elem_id="live-camera"
            )
            method = controls.OpenDropdown(  # "string" on the API page: it does not grow with the methods
                light_methods(), value="gradcam", allow_custom_value=True, label="Method", elem_id="live-method"
            )
            gr.Markdown(f"*Each visitor's stream stops after {seconds:g} s; press record again to go on.*")
        with gr.Column(scale=3, elem_classes="result-column"):
            overlay = gr.Image(label="What the model looks at", format="jpeg", elem_id="live-overlay")
            top = gr.Label(num_top_classes=3, label="Top-3", elem_id="live-top")
            rate = gr.Markdown(elem_id="live-fps")
    state = gr.State(None)
    camera.stream(
        gpu(run_webcam),
        inputs=[camera, method, page.backbone_name, page.allow_random, state],
        outputs=[overlay, top, rate, state],
        stream_every=STREAM_EVERY,
        time_limit=seconds,
        concurrency_limit=1,
        concurrency_id="live-webcam",
        show_progress="hidden",
        api_visibility="private",
    )


def _video(page: Page) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    with gr.Row(elem_classes="tab-body"):
        with gr.Column(scale=2):
            video = uploads.CheckedFile(
                label="A video", file_types=list(VIDEO_SUFFIXES), elem_id="live-video", height=100
            )
            method = controls.OpenDropdown(
                heatmap_methods(), value="gradcam", allow_custom_value=True, label="Method", elem_id="live-video-method"
            )
            every = gr.Slider(
                1, 30, value=settings.value("CNNLENS_VIDEO_EVERY"), step=1, label="Explain every n-th frame"
            )
            smoothing = gr.Slider(0.0, 0.9, value=0.0, step=0.1, label="Smoothing over time (0: none)")
            run = gr.Button("Explain the video", variant="primary", elem_id="run-video")
        with gr.Column(scale=5, elem_classes="result-column"):
            clip = gr.Video(label="The video, explained", interactive=False, elem_id="result-video")
            timeline = gr.Image(label="Timeline", format="png", interactive=False, elem_id="video-timeline")
            rows = gr.File(label="Rows (CSV)", interactive=False, elem_id="video-rows")
            note = gr.Markdown(elem_id="info-video", label="summary")
    run.click(
        gpu(run_video, heavy=True),
        inputs=[video, method, every, smoothing, page.backbone_name, page.allow_random],
        outputs=[clip, timeline, rows, note],
        show_progress_on=clip,
        api_name="video",
        **lane(True),
    )
    return (clip, timeline, rows, note), (video, method, every, smoothing)


_EXPLAINERS: OrderedDict[tuple[int, str], tuple[registry.Backbone, FrameExplainer, threading.Lock]] = OrderedDict()
_EXPLAINERS_LOCK = threading.Lock()


def _explainer(backbone: registry.Backbone, method: str) -> tuple[FrameExplainer, threading.Lock]:
    """One explainer per loaded backbone and method, the last few kept (it carries a callback per call, hence its
    lock)."""
    key = (id(backbone), method)
    with _EXPLAINERS_LOCK:
        if key not in _EXPLAINERS or _EXPLAINERS[key][0] is not backbone:
            _EXPLAINERS[key] = (backbone, FrameExplainer(backbone, method, what="The webcam"), threading.Lock())
        _EXPLAINERS.move_to_end(key)
        while len(_EXPLAINERS) > 4:
            _EXPLAINERS.popitem(last=False)
        return _EXPLAINERS[key][1:]


def run_webcam(frame: Image.Image | None, method: str, backbone_name: str, allow_random: bool, state: dict | None):
    """One webcam frame: (its overlay with the top class, the top-3, the frames per second achieved, the state)."""
    if frame is None:
        return None, None, "", state
    if frame.width * frame.height > MAX_PIXELS:
        raise handlers.user_error(too_large(frame.width, frame.height))
    plugin = script_api.named_plugin(method)
    if plugin.name not in light_methods():
        raise handlers.user_error(
            f"{plugin.title} is too slow for a live stream; choose a light method such as Grad-CAM."
        )
    backbone = handlers.get_backbone(backbone_name, bool(allow_random))
    picture = frame.convert("RGB")
    explainer, lock = _explainer(backbone, method)
    try:
        with lock:
            explained = explainer.explain([picture])[0]
    except ValueError as exc:
        raise handlers.user_error(str(exc)) from None
    shown = render.caption(render.overlay(explained.view, explained.shown), frame_caption(explained, backbone.labels))
    top = {label: probability for label, probability in explained.top(3, backbone.labels)}
    times = frame_times(state, time.monotonic())
    return shown, top, rate_words(times), {"times": times}


def frame_times(state: dict | None, now: float) -> list[float]:
    """The moments the last FPS_WINDOW frames were explained, `now` last; a recording that starts after a pause
    (Record pressed again) starts afresh, so the pause is not counted as one slow frame."""
    times = list((state or {}).get("times") or [])
    if times and now - times[-1] > PAUSE:
        times = []
    return times[-(FPS_WINDOW - 1) :] + [now]


def rate_words(times: list[float]) -> str:
    """The frames per second explained over `times`, in words for the page."""
    if len(times) < 2 or times[-1] <= times[0]:
        return "First frame explained; the frames per second follow with the next."
    return f"**{(len(times) - 1) / (times[-1] - times[0]):.1f} frames per second** explained"


def run_video(
    video: str | None,
    method: str = "gradcam",
    every: int | None = None,
    smoothing: float = 0.0,
    backbone_name: str = registry.DEFAULT_BACKBONE,
    allow_random: bool = False,
    progress=gr.Progress(),
):
    """The /video endpoint: (the overlaid MP4, the timeline figure, the rows as CSV, a note)."""
    if not video:
        raise handlers.user_error("Upload a video first (MP4, WebM, MOV, MKV, AVI or Y4M).")
    method = script_api.named_plugin(method).name
    backbone = handlers.get_backbone(backbone_name, bool(allow_random))
    out = results.new_folder("video-") / (Path(video).stem[:40] + "-explained.mp4")
    progress(0.0, desc="Explaining the video")
    try:
        result = registry.explain_video(
            video,
            backbone,
            method,
            every=int(every) if every else None,
            smoothing=float(smoothing or 0.0),
            out=out,
            parquet=False,
            progress=lambda fraction, words: progress(fraction, desc=words),
        )
    except (registry.ImageError, ValueError) as exc:
        raise handlers.user_error(handlers.without_paths(str(exc))) from None
    changes = ", ".join(f"{row['time']:.1f} s → {row['top1_label'].split(',')[0]}" for row in result.changes[:8])
    note = (
        f"**{len(result.rows)} frames explained in {result.seconds:.1f} s** "
        f"({result.frames_per_second:.1f} frames per second)."
        + (f" The top class changes at {changes}." if changes else " The top class never changes.")
    )
    if result.stopped:
        note += f"\n\n**Stopped early.** {result.stopped} The frames explained before that are shown."
    video_file = str(result.video) if result.video else None
    return video_file, str(result.image), str(result.csv), note
