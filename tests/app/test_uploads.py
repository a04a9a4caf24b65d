"""The file guard: only regular files inside Gradio's upload cache or the examples are opened."""

import os
import threading

import pytest

from app import uploads
from app.ui import ImageInput, build_app


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "gradio-cache"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def refused(path) -> str:
    with pytest.raises(uploads.RefusedFile) as caught:
        uploads.checked_upload(path)
    return str(caught.value)


def test_uploads_and_examples_are_allowed(cache, samples):
    upload = cache / "abc123" / "cat.png"
    upload.parent.mkdir()
    upload.write_bytes(samples["cat"].read_bytes())
    assert uploads.checked_upload(str(upload)) == str(upload.resolve())
    assert uploads.checked_upload(samples["cat"]) == str(samples["cat"].resolve())


def test_everything_else_gets_one_message_that_names_no_path(cache, tmp_path, samples):
    outside = tmp_path / "secret.png"
    outside.write_bytes(samples["cat"].read_bytes())
    link = cache / "link.png"
    link.symlink_to(outside)  # inside the cache by name, outside it in reality
    messages = {
        refused(p)
        for p in (
            outside,
            tmp_path / "missing.png",
            link,
            cache / ".." / "secret.png",
            cache,
            cache / "missing.png",
            "/etc/passwd",
            "",
            None,
            "a\0b",
        )
    }
    assert messages == {uploads.REFUSED}
    assert "/" not in uploads.REFUSED


def test_a_named_pipe_is_refused_without_blocking(cache):
    pipe = cache / "pipe.png"
    os.mkfifo(pipe)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(refused(pipe)), daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert outcome == [uploads.REFUSED]


def test_every_file_input_of_the_app_is_guarded():
    demo = build_app()
    assert uploads.unguarded_file_inputs(demo, (ImageInput, uploads.CheckedFile)) == []
    inputs = [c for fn in demo.fns.values() for c in fn.inputs if uploads.takes_files(c)]
    assert inputs and all(isinstance(c, (ImageInput, uploads.CheckedFile)) for c in inputs)
    checked = {c.elem_id for c in inputs if isinstance(c, uploads.CheckedFile)}
    assert {"model-files", "evaluate-zip", "evaluate-manifest"} <= checked  # model and dataset uploads checked too


def test_an_unguarded_image_input_is_detected():
    import gradio as gr

    with gr.Blocks() as demo:
        plain = gr.Image(type="filepath", label="plain")
        plain.change(lambda x: x, inputs=plain, outputs=gr.Textbox())
    assert uploads.unguarded_file_inputs(demo, ImageInput) == ["plain"]
