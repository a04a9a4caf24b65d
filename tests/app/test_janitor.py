"""Every file the served app writes has an end (app/janitor.py, registry/storage): a script's model uploads over
plain HTTP, which never close a session, go after their lifetime; a stopped server leaves none of its own files."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest
import safetensors.torch
import timm

from registry import storage
from testkit.server import running_app

pytestmark = pytest.mark.server

LIFETIME_S = 6


def _upload_model(base: str, checkpoint) -> str:
    """One model upload the way a script does it: the file to /upload, then /call/upload_model and its stream."""
    with httpx.Client(base_url=base, timeout=60) as http:
        with open(checkpoint, "rb") as file:
            (path,) = http.post("gradio_api/upload", files={"files": (checkpoint.name, file)}).json()
        files = [{"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": checkpoint.name}]
        event = http.post("gradio_api/call/upload_model", json={"data": [files, "test_resnet"]}).json()["event_id"]
        stream = http.get(f"gradio_api/call/upload_model/{event}").text
    assert "event: complete" in stream, stream
    return stream


def _files(folder) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())


def test_uploads_without_a_session_end_and_a_stopped_server_removes_its_files(tmp_path, samples):
    checkpoint = tmp_path / "tiny.safetensors"
    safetensors.torch.save_file(timm.create_model("test_resnet").state_dict(), str(checkpoint))
    data = tmp_path / "data"
    settings = {"CNNLENS_DATA_DIR": str(data), "CNNLENS_MODEL_UPLOADS_TTL": str(LIFETIME_S), "CNNLENS_DEVICE": "cpu"}
    uploads, cache = data / "own-models", data / "gradio"
    with running_app(extra_env=settings) as server:
        oldest, started, count = 0.0, time.monotonic(), 0
        while count < 8 or time.monotonic() - started < 3 * LIFETIME_S:  # uploads that span several lifetimes
            _upload_model(server.url, checkpoint)
            oldest, count = max(oldest, time.time() - storage.entries(uploads)[0].used), count + 1
        assert any(uploads.iterdir())
        assert oldest <= LIFETIME_S + LIFETIME_S / 2 + 5  # none outlived its lifetime by more than a sweep's wait
        for _ in range(2 * (LIFETIME_S + 15)):  # the lifetime, then the next sweep (every half lifetime), and slack
            if not any(uploads.iterdir()):
                break
            time.sleep(0.5)
        assert not any(uploads.iterdir()), "uploads outlived their lifetime"
        _upload_model(server.url, checkpoint)  # and the next upload is taken as before
        with httpx.Client(base_url=server.url, timeout=60) as http, open(samples["cat"], "rb") as file:
            http.post("gradio_api/upload", files={"files": ("cat.png", file)}).raise_for_status()
        assert _files(cache) >= 2 and _files(uploads) == 1
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
    assert not uploads.exists() and not cache.exists(), json.dumps([str(p) for p in data.rglob("*")])
    assert storage.entries(data) == [] or all(e.path.name == "feature-vis" for e in storage.entries(data))
