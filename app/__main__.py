"""Serve CNN Lens: `python -m app` (also Spaces' app_file, run as `python app/__main__.py`); `cnnlens evaluate …`
runs the dataset evaluation instead (registry/evaluation/cli.py), `cnnlens strategies …` a class's strategies
(registry/audit/strategies_cli.py), `cnnlens concepts …` the concept test (registry/audit/concepts_cli.py) and
`cnnlens video …` a video explained frame by frame (registry/video/cli.py).

Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Spaces and scripts set them.
"""

import logging
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    from registry import settings, storage

    try:
        settings.check_all()  # an operator's typo stops the start with a sentence, not the first request
    except settings.SettingError as exc:
        sys.exit(f"cnnlens: {exc}")
    if sys.argv[1:2] == ["evaluate"]:  # `cnnlens evaluate …`: the batch command over a dataset, no server
        from registry.evaluation.cli import main as evaluate

        sys.exit(evaluate(sys.argv[2:]))
    if sys.argv[1:2] == ["strategies"]:  # `cnnlens strategies …`: a class's strategies over a dataset, no server
        from registry.audit.strategies_cli import main as strategies

        sys.exit(strategies(sys.argv[2:]))
    if sys.argv[1:2] == ["concepts"]:  # `cnnlens concepts …`: the concept test (TCAV) from a shell
        from registry.audit.concepts_cli import main as concepts

        sys.exit(concepts(sys.argv[2:]))
    if sys.argv[1:2] == ["video"]:  # `cnnlens video IN.mp4 --out OUT.mp4`: a video explained frame by frame
        from registry.video.cli import main as video

        sys.exit(video(sys.argv[2:]))
    # One folder holds what the server writes: Gradio's cache too, unless the operator placed it. Set before
    # gradio is imported (it reads this once).
    os.environ.setdefault("GRADIO_TEMP_DIR", str(storage.data_folder() / "gradio"))
    from app import allocator, janitor

    tuned = allocator.tune()  # before torch and the server start their threads
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("cnnlens").info("malloc tuning %s", "on" if tuned else "off")
    started = time.perf_counter()
    from app.frontend import CSS, JS
    from app.prewarm import prewarm_feature_vis, wanted
    from app.requests import cap_heavy_per_visitor
    from app.ui import build_app
    from app.uploads import max_file_bytes

    demo = build_app()
    demo.queue(default_concurrency_limit=settings.value("CNNLENS_CONCURRENCY"), max_size=64)
    cap_heavy_per_visitor(demo)
    logging.getLogger("cnnlens").info("app built in %.1f s", time.perf_counter() - started)
    janitor.start()  # every file the server writes has an end (registry/storage)
    if wanted():
        prewarm_feature_vis()
    # max_file_size: larger uploads stop as they arrive. _frontend=False skips Gradio's own start check (a HEAD of the
    # page with a 3 s timeout, then "localhost is not accessible"): on a loaded machine the first page takes longer and
    # the app exited; the Space's health check and testkit.server wait for the page instead (gradio is pinned).
    demo.launch(show_error=False, js=JS, css=CSS, max_file_size=max_file_bytes(), _frontend=False)


if __name__ == "__main__":
    main()
