"""One deadline and one cancel signal per request (registry/methods/_request.py): every step of every
computation in the scope checks them, so a request stops as a whole, and a compare keeps what it finished."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

import registry
from registry.methods._request import check_request, current_request, light_in_flight


def test_outside_a_scope_nothing_stops():
    check_request("anything")  # no deadline, never abandoned
    assert current_request().deadline == float("inf")


def test_an_inner_scope_keeps_the_outer_earlier_deadline():
    with registry.request_scope(1.0) as outer, registry.request_scope(60.0) as inner:
        assert inner.deadline == outer.deadline and inner.budget == 1.0
    assert current_request().deadline == float("inf")  # the scope is gone once the block ends


def test_a_map_stops_at_the_request_budget_with_a_sentence(tiny, samples):
    """Score-CAM scores its channels in batches; the request's budget ends it between two of them."""
    with registry.request_scope(0.0), pytest.raises(registry.RequestStopped) as stopped:
        registry.get_plugin("scorecam").run(tiny, samples["cat"])
    assert "CNNLENS_REQUEST_BUDGET" in str(stopped.value) and "Score-CAM" in str(stopped.value)


@pytest.mark.parametrize("name, params", [("smoothgrad", {"samples": 40}), ("gradient_shap", {"samples": 40})])
def test_noise_methods_stop_between_their_batches_when_abandoned(name, params, tiny, samples):
    """captum's NoiseTunnel and GradientShap loop inside one call: the batches are steps all the same."""
    steps: list[float] = []
    leave = threading.Event()

    def progress(fraction: float, words: str) -> None:
        steps.append(fraction)
        if len(steps) == 2:
            leave.set()

    plugin = registry.get_plugin(name)
    with registry.request_scope(abandoned=leave.is_set), pytest.raises(registry.RequestStopped) as stopped:
        plugin.run(tiny, samples["cat"], progress=progress, batch_size=4, **params)
    assert "cancelled" in str(stopped.value) and len(steps) == 2  # stopped at the step after the visitor left


def test_gradient_shap_in_batches_averages_all_its_samples(tiny, samples):
    """Batching bounds memory; the map is still the mean over every sample (one batch or many agree closely)."""
    plugin = registry.get_plugin("gradient_shap")
    whole = plugin.run(tiny, samples["cat"], samples=16, batch_size=16, sign="all").raw
    batched = plugin.run(tiny, samples["cat"], samples=16, batch_size=4, sign="all").raw
    assert whole.shape == batched.shape and abs(whole).sum() > 0
    correlation = float(((whole - whole.mean()) * (batched - batched.mean())).mean() / (whole.std() * batched.std()))
    assert correlation > 0.5  # other noise draws, the same method


def test_a_compare_stopped_midway_keeps_its_finished_cells_and_says_what_was_cut(tiny, samples):
    leave = threading.Event()
    with registry.request_scope(abandoned=leave.is_set):
        comparison = registry.compare(
            samples["cat"],
            backbones=[tiny],
            plugins=["gradcam", "saliency", "layercam"],
            progress=lambda fraction, words: leave.set(),  # the visitor leaves once the first map is done
        )
    finished = [cell for cell in comparison.cells if cell.error is None]
    cut = [cell.error for cell in comparison.cells if cell.error]
    assert finished and cut and all("cancelled" in error for error in cut)


def test_the_heavy_lane_shares_the_weights_but_not_the_modules_or_the_lock(tiny):
    lane = tiny.heavy_lane()
    assert lane is tiny.heavy_lane() and lane.heavy_lane() is lane  # made once
    assert lane.model is not tiny.model and lane.lock is not tiny.lock
    ours, theirs = dict(tiny.model.named_parameters()), dict(lane.model.named_parameters())
    assert ours.keys() == theirs.keys() and all(ours[k] is theirs[k] for k in ours)  # no second set of weights
    assert lane.layers == tiny.layers and lane.labels == tiny.labels
    assert lane.weights_digest() == tiny.weights_digest() and "blake2b" in lane._digest  # hashed once, for both


def test_a_heavy_request_computes_while_a_light_one_holds_the_model(tiny, samples):
    """The heavy lane has its own lock: a Grad-CAM in a heavy scope finishes while the backbone's is held."""
    light = registry.get_plugin("gradcam").run(tiny, samples["cat"])
    tiny.heavy_lane()  # made once, under the backbone's lock (no hooks may be copied)
    done: list = []

    def heavy() -> None:
        with registry.request_scope(heavy=True):
            done.append(registry.get_plugin("gradcam").run(tiny, samples["cat"]))

    with tiny.lock:
        worker = threading.Thread(target=heavy)
        worker.start()
        worker.join(60)
        assert done, "the heavy request waited for the lock a light one holds"
    assert np.array_equal(done[0].raw, light.raw)  # the same map from either lane


@contextlib.contextmanager
def light_request_open() -> Iterator[threading.Event]:
    """A light request computing in another thread until the yielded event is set (or the block ends)."""
    light_open, release = threading.Event(), threading.Event()

    def light() -> None:
        with registry.request_scope():
            light_open.set()
            release.wait(30)

    worker = threading.Thread(target=light)
    worker.start()
    light_open.wait(30)
    try:
        yield release
    finally:
        release.set()
        worker.join(30)


def test_a_heavy_step_waits_while_light_work_computes():
    """At each step a heavy request yields to light requests in flight, and goes on when they end."""
    with light_request_open() as release:
        assert light_in_flight() == 1
        threading.Timer(0.6, release.set).start()
        with registry.request_scope(heavy=True):
            began = time.monotonic()
            check_request("a heavy step")
            waited = time.monotonic() - began
    assert 0.5 < waited < 4, waited  # until the light request ended, not the yield limit
    with registry.request_scope(heavy=True):
        began = time.monotonic()
        check_request("a heavy step")
        assert time.monotonic() - began < 0.2  # nothing light in flight: no wait


def test_a_heavy_step_stops_waiting_at_its_deadline():
    with light_request_open(), registry.request_scope(0.3, heavy=True), pytest.raises(registry.RequestStopped):
        check_request("a heavy step")  # waits for the light work only until its own budget ends
