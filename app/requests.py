"""Every event that computes runs as one request (`registry.request_scope`): one deadline for all of its
work ($CNNLENS_REQUEST_BUDGET), and a cancel signal that turns True when its visitor presses Stop, calls
the API's cancel, or closes the page. Computations check both at each step, so abandoned work stops
there and frees the model lock instead of running to the end for nobody.

Gradio runs a plain function in a worker thread and, on cancel, can only cancel the asyncio task that
awaits it; the thread would go on. So the event function here is a coroutine that runs the work in a
thread itself and lets the work see its task's cancellation and the queue's "client gone" mark.

Heavy events (a plugin whose declared cost is not "light", Compare, the trust checks, Evaluate) run in
their own lane: their own Gradio concurrency group ($CNNLENS_HEAVY_CONCURRENCY at once, default 1),
a heavy request scope (its own copy of the model's modules, yielding to light work at each step), so
a cheap request from another visitor never waits behind them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from typing import Any

import anyio
from gradio.context import LocalContext

import registry
from spaces_config import zerogpu

__all__ = [
    "HEAVY_LANE",
    "LIGHT_LANE",
    "bounded",
    "gpu",
    "heavy_concurrency",
    "lane",
]

LIGHT_LANE = "compute"  # the concurrency group of light computing events ($CNNLENS_CONCURRENCY at once)
HEAVY_LANE = "heavy"


def _client_present() -> Callable[[], bool]:
    """A question answered False once Gradio's queue has marked this event's client gone (page closed)."""
    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or event_id is None:  # called outside a queued event (a script, a test): always present
        return lambda: True

    def present() -> bool:
        for events in getattr(queue, "active_jobs", []):
            for event in events or ():
                if getattr(event, "_id", None) == event_id:
                    return bool(getattr(event, "alive", True))
        return True

    return present


def heavy_concurrency() -> int:
    """How many heavy events compute at once ($CNNLENS_HEAVY_CONCURRENCY; default 1, at least 1)."""
    try:
        return max(1, int(os.environ.get("CNNLENS_HEAVY_CONCURRENCY", "1")))
    except ValueError:
        return 1


def lane(heavy: bool) -> dict[str, Any]:
    """The event listener's concurrency arguments for a light or a heavy event."""
    if heavy:
        return {"concurrency_id": HEAVY_LANE, "concurrency_limit": heavy_concurrency()}
    return {"concurrency_id": LIGHT_LANE}


def bounded(fn: Callable, heavy: bool = False) -> Callable:
    """`fn` as an event function computing inside one request scope, light or heavy; its signature (the
    API's parameter names, gr.Progress) is kept for Gradio."""

    @functools.wraps(fn)
    async def event(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        present = _client_present()

        def abandoned() -> bool:
            return (task is not None and task.cancelling() > 0) or not present()

        def work() -> Any:
            with registry.request_scope(abandoned=abandoned, heavy=heavy):
                return fn(*args, **kwargs)

        context = contextvars.copy_context()  # Gradio's progress and request live in context variables
        return await anyio.to_thread.run_sync(context.run, work)  # a cancel waits for the next step, not the end

    return event


def gpu(fn: Callable, heavy: bool = False) -> Callable:
    """An event that computes: one bounded, cancellable request, light or heavy, on a ZeroGPU Space inside
    spaces.GPU (spaces_config/zerogpu.py). A heavy event's listener also takes `**lane(True)`."""
    return bounded(zerogpu.gpu(fn), heavy=heavy)
