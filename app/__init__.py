"""CNN Lens web app: `python -m app` serves it; `build_app()` returns the Gradio Blocks."""

from app.ui import build_app

__all__ = ["build_app"]
