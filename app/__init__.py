"""CNN Lens web app: `python -m app` serves it; `app.ui.build_app()` returns the Gradio Blocks."""
