"""A public Space under pressure (issue 21): one budget per request, cheap work beside heavy work, and
abandoned work that stops.

Its own server, with a short request budget (CNNLENS_REQUEST_BUDGET=14 s), so a heavy compare is
cut within the test's time; a compare of heavy methods runs about twice that long here. Heavy requests
have their own lane (one at a time, on their own copy of the model's modules), so what shows that an
abandoned one stopped is the next *heavy* request starting at once.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import ValidationError
from PIL import Image

from app.evaluate_tab import SAMPLES, ZIP
from testkit.api import explain, tab_event
from testkit.server import running_app

pytestmark = pytest.mark.server
BUDGET_S = 14
HEAVY = ["smoothgrad", "gradient_shap", "integrated_gradients", "scorecam"]
CLASSES = ["predicted (top-1)", "285: Egyptian cat", "281: tabby, tabby cat"]


@pytest.fixture(scope="module")
def server():
    settings = {"CNNLENS_REQUEST_BUDGET": str(BUDGET_S), "CNNLENS_DEVICE": "cpu"}
    with running_app(extra_env=settings) as served:
        yield served


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def heavy_compare(samples) -> list:
    """12 cells of looping methods on the cat: well past the budget when computed whole."""
    return [
        handle_file(str(samples["cat"])),
        ["tf_efficientnet_lite0"],
        HEAVY,
        CLASSES,
        ["default"],
        False,
        True,
        False,
    ]


def gradcam_seconds(client, samples) -> float:
    args, keywords = tab_event("gradcam", handle_file(str(samples["cat"])))  # the page's Run: the light lane
    began = time.monotonic()
    main, _, info, *_ = client.predict(*args, **keywords)
    assert Image.open(main).width == 448 and "282: tiger cat" in info
    return time.monotonic() - began


def small_heavy_seconds(client, samples) -> float:
    """A Score-CAM of 16 channels: a heavy-lane request of about a second, which waits for the lane."""
    began = time.monotonic()
    main, _, info, *_ = client.predict(
        **explain("scorecam", image=handle_file(str(samples["cat"])), channels=16, batch_size=16)
    )
    assert Image.open(main).width == 448 and "Score-CAM" in info
    return time.monotonic() - began


def test_a_cheap_request_is_answered_while_heavy_ones_run(client, samples):
    """Two Score-CAMs at their maximum (each runs to the budget) hold the heavy lane; a Grad-CAM and a
    prediction from another visitor are answered meanwhile, in about their usual time."""
    picture = handle_file(str(samples["cat"]))
    heavy = [client.submit(**explain("scorecam", image=picture, channels=4096, batch_size=64)) for _ in range(2)]
    try:
        time.sleep(3)  # the first is computing, the second queued for the lane
        waited = gradcam_seconds(client, samples)
        began = time.monotonic()
        client.predict(picture, "tf_efficientnet_lite0", False, api_name="/predict")
        predicted = time.monotonic() - began
        # Before the heavy lane, both waited for the heavy requests' slots and lock: about 17 s and more.
        assert waited < 6 and predicted < 6, f"/gradcam {waited:.1f} s, /predict {predicted:.1f} s beside heavy work"
        assert not heavy[0].done(), "the heavy request ended before the cheap ones were measured"
    finally:
        for job in heavy:
            job.cancel()


def test_a_compare_past_the_request_budget_returns_its_finished_cells_and_says_so(client, samples):
    began = time.monotonic()
    figure, summary, _, cells = client.predict(*heavy_compare(samples), api_name="/compare")
    took = time.monotonic() - began
    assert "Stopped early" in summary and "CNNLENS_REQUEST_BUDGET" in summary, summary
    finished = [cell for cell in cells if not cell.get("error")]
    cut = [cell for cell in cells if cell.get("error")]
    assert finished and cut, summary  # what was done is kept, the rest says why it is missing
    assert Image.open(figure).width > 0
    assert took < BUDGET_S + 15, f"{took:.1f} s for a {BUDGET_S} s budget"  # one step past it, at most


def test_a_cancelled_request_frees_the_model_at_its_next_step(client, samples):
    job = client.submit(*heavy_compare(samples), api_name="/compare")
    time.sleep(2)
    job.cancel()
    waited = small_heavy_seconds(client, samples)
    # Not cancelled, the compare would hold the heavy lane until its budget, about 12 s from here.
    assert waited < 7, f"the next heavy request waited {waited:.1f} s after the cancel"


def test_a_visitor_who_leaves_stops_their_work(server, client, samples):
    """Closing the event stream (a closed tab) marks the event abandoned; its compare ends at the next step."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        with open(samples["cat"], "rb") as picture:
            uploaded = http.post("gradio_api/upload", files={"files": ("cat.png", picture, "image/png")})
        image = {"path": uploaded.raise_for_status().json()[0], "meta": {"_type": "gradio.FileData"}}
        event = http.post("gradio_api/call/compare", json={"data": [image, *heavy_compare(samples)[1:]]})
        event_id = event.raise_for_status().json()["event_id"]
        try:  # the stream stays silent while the compare runs: the visitor leaves after 2 s of it
            with http.stream("GET", f"gradio_api/call/compare/{event_id}", timeout=httpx.Timeout(30, read=2)) as stream:
                for _ in stream.iter_lines():
                    pass
        except httpx.ReadTimeout:
            pass
    waited = small_heavy_seconds(client, samples)
    assert waited < 7, f"the next heavy request waited {waited:.1f} s after the visitor left"


def slow_evaluate() -> list:
    """The bundled samples, two methods, deletion and insertion: about a minute here, well past the budget."""
    return [SAMPLES, None, None, ["tf_efficientnet_lite0"], ["gradcam", "saliency"], ["top1", "deletion", "insertion"]]


def test_an_evaluate_past_the_request_budget_returns_its_finished_rows_and_says_so(client, samples, tmp_path):
    """200 images (variants of the samples) with maps to score: well past the budget. The batches finished before
    it are kept; deletion and insertion are left out, since one image's curves alone take longer than the budget
    on this CPU (the cancel test below runs them)."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for number in range(200):
            picture = Image.open(sorted(samples.values())[number % len(samples)]).convert("RGB")
            side = 160 + number % 40
            buffer = io.BytesIO()
            picture.resize((side, side)).save(buffer, format="JPEG", quality=80)
            zipped.writestr(f"image{number:03d}.jpg", buffer.getvalue())
    began = time.monotonic()
    _table, _figure, rows, note, _gallery = client.predict(
        ZIP, handle_file(str(archive)), None, ["tf_efficientnet_lite0"], ["gradcam"], ["energy"], api_name="/evaluate"
    )
    took = time.monotonic() - began
    assert "Stopped early" in note and "CNNLENS_REQUEST_BUDGET" in note, note
    lines = Path(rows).read_text().splitlines()
    assert 1 < len(lines) < 1 + 200, note  # a header, then some images' rows, not all 200
    assert took < BUDGET_S + 15, f"{took:.1f} s for a {BUDGET_S} s budget"


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seconds_until_idle(pid: int, limit: float) -> float:
    """Seconds until the process uses under a tenth of a core over half a second; fails past `limit`."""
    began = time.monotonic()
    while True:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:
            return time.monotonic() - began
        assert time.monotonic() - began < limit, f"the server still computes {limit:g} s later"


@pytest.mark.xfail(
    reason="known bug (closing note of 2026-12-07): after an Evaluate stopped by the request budget on the same "
    "server, a cancelled Evaluate still computes 5 s later; alone this test passes",
    strict=False,
)
def test_a_cancelled_evaluate_leaves_the_cpu_idle_and_cheap_requests_keep_their_time(server, client, samples):
    seconds_until_idle(server.process.pid, 60)  # what an earlier test left (its files swept) is not this one's
    job = client.submit(*slow_evaluate(), api_name="/evaluate")
    time.sleep(3)
    assert gradcam_seconds(client, samples) < 6  # a cheap request beside Evaluate, in about its usual time
    job.cancel()
    seconds_until_idle(server.process.pid, 5)  # the cancelled Evaluate stops within a step


def rss_mb(pid: int) -> float:
    """The process's resident memory now, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def test_a_heavy_request_at_its_maximum_stays_within_the_memory_target(server, client, samples):
    """GradientSHAP at 200 samples took about 17 GB when captum ran them in one batch; in batches of at most 16
    the server's peak stays under the target of the settled server + 1.5 GB (README, Safe to host)."""
    picture, pid = handle_file(str(samples["cat"])), server.process.pid
    client.predict(**explain("gradient_shap", image=picture, samples=2, batch_size=2))  # settled: lane, captum loaded
    settled = peak = rss_mb(pid)
    job = client.submit(**explain("gradient_shap", image=picture, samples=200, batch_size=16))
    try:
        watch_until = time.monotonic() + 8  # several batches of 16: each as large as any other
        while time.monotonic() < watch_until:
            peak = max(peak, rss_mb(pid))
            time.sleep(0.05)
    finally:
        job.cancel()
    assert 50 < peak - settled < 1536, f"settled {settled:.0f} MB, peak {peak:.0f} MB"


def test_a_visitor_past_the_heavy_cap_is_refused_in_words_and_others_are_not(server, client, samples):
    """One visitor (one client's session) may have two heavy requests waiting or running
    (CNNLENS_HEAVY_PER_VISITOR); a third is refused at once, before it takes a queue place."""
    picture = handle_file(str(samples["cat"]))
    mine = [client.submit(**explain("scorecam", image=picture, channels=4096, batch_size=64)) for _ in range(2)]
    other = None
    try:
        time.sleep(2)  # both joined: one computing, one waiting for the lane
        began = time.monotonic()
        with pytest.raises(ValidationError, match="You already have 2 heavy requests waiting or running"):
            client.predict(**explain("scorecam", image=picture, channels=16, batch_size=16))
        assert time.monotonic() - began < 5  # refused at once, not after waiting for the lane
        other = Client(server.url, verbose=False).submit(**explain("scorecam", image=picture, channels=16))
        time.sleep(1)
        assert not other.done()  # another visitor's heavy request is queued, not refused
    finally:
        for job in mine:
            job.cancel()
    main, _, info, *_ = other.result(timeout=60)
    assert "Score-CAM" in info
    assert small_heavy_seconds(client, samples) < 30  # with its requests done, the visitor may ask again
