"""`cnnlens video IN.mp4 --out OUT.mp4` (and `python -m registry.video`): registry.explain_video from a shell.

    cnnlens video dashcam.mp4 --out runs/dashcam.mp4 --backbone tf_efficientnet_lite0 --method gradcam --every 3

Writes the overlaid MP4, the rows beside it (.csv, and .parquet with the evaluate extra) and the timeline (.png);
prints where the top class changes. A bad video or option is one sentence and exit status 2, as `cnnlens evaluate`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from registry.evaluation.cli import with_progress
from registry.models import DEFAULT_BACKBONE
from registry.video._explain import DEFAULT_BATCH, explain_video

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The command's options (also what `cnnlens video --help` prints)."""
    ask = argparse.ArgumentParser(
        prog="cnnlens video",
        description="Explain a video frame by frame: the overlaid MP4, a row per frame (.csv, .parquet) and the "
        "timeline (.png) beside it.",
    )
    ask.add_argument("video", help="the video file (MP4, WebM, MOV, MKV, AVI or Y4M)")
    ask.add_argument("--out", required=True, help="the overlaid MP4 to write; the rows and timeline go beside it")
    ask.add_argument("--backbone", default=DEFAULT_BACKBONE, help="a timm model name")
    ask.add_argument("--method", default="gradcam", help="a heatmap method (gradcam, saliency, …)")
    ask.add_argument("--every", type=int, help="explain every n-th frame (default: $CNNLENS_VIDEO_EVERY)")
    ask.add_argument("--smoothing", type=float, default=0.0, help="0 to below 1: how much each map keeps of the last")
    ask.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="frames through the model at once")
    ask.add_argument("--no-parquet", action="store_true", help="write the rows as CSV only")
    ask.add_argument("--device", help="cpu, cuda, cuda:1 … (default: the GPU when there is one)")
    ask.add_argument("--weights", help="'random' for random weights, or a checkpoint file")
    ask.add_argument("--quiet", action="store_true", help="no progress bar")
    return ask


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 when done, 1 when the run stopped early, 2 for a problem in the input."""
    options = parser().parse_args(argv)

    def work(progress: Callable[[float, str], None]):
        return explain_video(
            options.video,
            options.backbone,
            options.method,
            every=options.every,
            smoothing=options.smoothing,
            out=options.out,
            parquet=not options.no_parquet,
            batch_size=options.batch_size,
            device=options.device,
            weights=options.weights,
            progress=progress,
        )

    result = with_progress("cnnlens video", options.quiet, work)
    if result is None:
        return 2
    print(
        f"{len(result.rows)} frames explained in {result.seconds:.1f} s ({result.frames_per_second:.1f} frames/s); "
        f"written to {result.video}"
    )
    for row in result.changes:
        print(f"  {row['time']:8.2f} s  frame {row['frame']:>6}: the top class becomes {row['top1_label']}")
    if result.stopped:
        print(f"stopped early: {result.stopped}")
        return 1
    return 0
