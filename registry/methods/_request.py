"""One deadline and one cancel signal for a whole request: a compare, a trust check, a Learn step, one map.

`CNNLENS_TIME_BUDGET` bounds each computation; a request may hold many (48 compare cells, a check's
ten recomputed maps), so the app opens a `request_scope` around each event and every step of every
computation inside it checks the scope too (`check_request`): between cells, masked batches, noise
samples and randomization steps. The scope also carries `abandoned`, which the app sets to "the
visitor pressed Stop or left", so abandoned work ends at its next step and frees the model lock.

A request is light or heavy (the app says which, from the plugin's declared cost: Compare, the trust
checks and Evaluate are heavy). Cheap work must never starve behind heavy work, so the two never share
a lock and never share the processor for long: a heavy request computes on the backbone's heavy lane
(`in_lane`: a second set of modules over the same weights) and, at each of its steps, waits while a
light request is computing (`check_request`). A light request then waits for at most one heavy step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import registry.settings as settings

__all__ = [
    "REQUEST_BUDGET_S",
    "Request",
    "RequestStopped",
    "check_request",
    "current_request",
    "in_lane",
    "light_in_flight",
    "request_budget",
    "request_scope",
]

REQUEST_BUDGET_S = 300.0  # default for $CNNLENS_REQUEST_BUDGET: how long one whole request may compute
YIELD_LIMIT_S = 5.0  # the longest one heavy step waits for light work, so a stream of it cannot stall a heavy one


class RequestStopped(ValueError):
    """A request ran past its budget or was abandoned by its visitor; stopped between two steps. The message
    says what was cut, for the user."""


def request_budget() -> float:
    """Seconds one request may compute ($CNNLENS_REQUEST_BUDGET)."""
    return settings.value("CNNLENS_REQUEST_BUDGET")


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Request:
    """The request being computed: when it must end, and a question answered True once nobody waits for it."""

    deadline: float = float("inf")  # time.monotonic()
    budget: float = float("inf")
    abandoned: Callable[[], bool] = _never
    heavy: bool = False

    def stop_reason(self) -> str | None:
        """Why the request must stop now (a clause for a sentence), or None while it may go on."""
        if self.abandoned():
            return "its request was cancelled (Stop, or the page was closed)"
        if time.monotonic() > self.deadline:
            return f"the whole request ran past its budget of {self.budget:g} s (CNNLENS_REQUEST_BUDGET)"
        return None


_UNBOUNDED = Request()
_CURRENT: ContextVar[Request | None] = ContextVar("cnnlens_request", default=None)


def current_request() -> Request:
    """The scope opened by the nearest `request_scope` (outside any: no deadline, never abandoned)."""
    return _CURRENT.get() or _UNBOUNDED


_LIGHT = threading.Condition()  # guards _light_running; notified when a light request ends
_light_running = 0


def light_in_flight() -> int:
    """How many light requests are computing now (heavy steps wait while any is)."""
    return _light_running


@contextmanager
def request_scope(
    budget: float | None = None, abandoned: Callable[[], bool] = _never, heavy: bool | None = None
) -> Iterator[Request]:
    """Compute the block as one request: `budget` seconds from now (None: $CNNLENS_REQUEST_BUDGET), stopped
    early once `abandoned()` is True; `heavy` puts it in the heavy lane (None: as the enclosing scope, else
    light). A scope inside another keeps the outer, earlier deadline."""
    global _light_running
    seconds = request_budget() if budget is None else float(budget)
    outer = current_request()
    deadline = min(time.monotonic() + seconds, outer.deadline)
    lane = outer.heavy if heavy is None else heavy
    request = Request(deadline, seconds if deadline < outer.deadline else outer.budget, abandoned, lane)
    counted = not lane and outer is _UNBOUNDED  # the outermost light scope is the light request
    if counted:
        with _LIGHT:
            _light_running += 1
    token = _CURRENT.set(request)
    try:
        yield request
    finally:
        _CURRENT.reset(token)
        if counted:
            with _LIGHT:
                _light_running -= 1
                _LIGHT.notify_all()


def in_lane(backbone: Any) -> Any:
    """The backbone the current request computes on: its heavy lane for a heavy request, else itself."""
    return backbone.heavy_lane() if current_request().heavy else backbone


def check_request(what: str, done: int | None = None, total: int | None = None) -> None:
    """Raise `RequestStopped` ("<what> stopped after 3 of 10 steps: …") when the current request must end."""
    request = current_request()
    if request.heavy:
        _yield_to_light(request)
    reason = request.stop_reason()
    if reason is None:
        return
    where = f" after {done} of {total} steps" if done is not None and total else ""
    raise RequestStopped(f"{what} stopped{where}: {reason}.")


def _yield_to_light(request: Request) -> None:
    """Wait while light requests compute (at most YIELD_LIMIT_S, and not past the request's end)."""
    limit = time.monotonic() + YIELD_LIMIT_S
    with _LIGHT:
        while _light_running and time.monotonic() < min(limit, request.deadline) and not request.abandoned():
            _LIGHT.wait(0.05)
