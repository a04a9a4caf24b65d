"""Every event that computes runs as one request (`registry.request_scope`): one deadline for all of its
work ($CNNLENS_REQUEST_BUDGET), and a cancel signal that turns True when its visitor presses Stop, calls
the API's cancel, or closes the page. Computations check both at each step, so abandoned work stops
there and frees the model lock instead of running to the end for nobody.

Gradio runs a plain function in a worker thread and, on cancel, can only cancel the asyncio task that
awaits it; the thread would go on. So the event function here is a coroutine that runs the work in a
thread itself and lets the work see its task's cancellation and the queue's "client gone" mark.
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

__all__ = ["bounded"]


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


def bounded(fn: Callable) -> Callable:
    """`fn` as an event function computing inside one request scope; its signature (the API's parameter
    names, gr.Progress) is kept for Gradio."""

    @functools.wraps(fn)
    async def event(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        present = _client_present()

        def abandoned() -> bool:
            return (task is not None and task.cancelling() > 0) or not present()

        def work() -> Any:
            with registry.request_scope(abandoned=abandoned):
                return fn(*args, **kwargs)

        context = contextvars.copy_context()  # Gradio's progress and request live in context variables
        return await anyio.to_thread.run_sync(context.run, work)  # a cancel waits for the next step, not the end

    return event
