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
a cheap request from another visitor never waits behind them. One visitor (one page, one API client:
Gradio's session) holds at most $CNNLENS_HEAVY_PER_VISITOR heavy events queued or running (default 2);
the next is refused at once, in words, before it takes a queue place (`cap_heavy_per_visitor`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import Any

import anyio
from gradio.context import LocalContext

import registry
from registry import settings
from spaces_config import zerogpu

__all__ = [
    "HEAVY_LANE",
    "LIGHT_LANE",
    "bounded",
    "cap_heavy_per_visitor",
    "gpu",
    "heavy_concurrency",
    "heavy_per_visitor",
    "lane",
]

HEAVY_PER_VISITOR = 2  # default for $CNNLENS_HEAVY_PER_VISITOR
BUSY = (
    "You already have {count} heavy requests waiting or running (a map of a heavy method, Compare, a trust check "
    "or Evaluate); this server takes at most {cap} at once from one visitor. Wait for one to finish, or press "
    "Stop on one, then try again."
)
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
    return settings.value("CNNLENS_HEAVY_CONCURRENCY")


def heavy_per_visitor() -> int:
    """How many heavy events one visitor may have queued or running ($CNNLENS_HEAVY_PER_VISITOR; default 2)."""
    return settings.value("CNNLENS_HEAVY_PER_VISITOR")


def _heavy_events_of(queue: Any, session: str) -> int:
    """The visitor's heavy events in Gradio's queue: waiting in the heavy group, or running."""
    waiting = getattr(queue.event_queue_per_concurrency_id.get(HEAVY_LANE), "queue", [])
    running = [event for events in queue.active_jobs if events for event in events]
    return sum(
        1
        for event in [*waiting, *running]
        if event.session_hash == session and getattr(event.fn, "concurrency_id", None) == HEAVY_LANE
    )


def cap_heavy_per_visitor(demo: Any, cap: int | None = None) -> None:
    """Refuse a visitor's heavy event past `cap` (None: $CNNLENS_HEAVY_PER_VISITOR) when it asks to join the
    queue, so one source cannot fill it. Gradio offers no per-session limit, and a validator would run the
    inputs' preprocessing first, so this wraps the one door every event comes in by (Queue.push, for the page,
    gradio_client and /call alike) and answers as a failed validation: gradio_client raises ValidationError with
    the sentence, the page shows it. tests/app/test_pressure.py checks it against the Gradio installed."""
    queue, limit = demo._queue, cap or heavy_per_visitor()
    push, joining = queue.push, asyncio.Lock()  # count and join as one step: no two joins pass on one count

    async def capped_push(body: Any, request: Any, username: Any) -> Any:
        fn = demo.fns.get(body.fn_index) if body.fn_index is not None else None
        if getattr(fn, "concurrency_id", None) != HEAVY_LANE or not body.session_hash:
            return await push(body, request, username)
        async with joining:
            count = _heavy_events_of(queue, body.session_hash)
            if count >= limit:
                refusal = {"__type__": "validate", "is_valid": False, "parameter_name": "request"}
                return False, [{**refusal, "message": BUSY.format(count=count, cap=limit)}], "validator_error"
            return await push(body, request, username)

    queue.push = capped_push


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
