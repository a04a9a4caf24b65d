"""ZeroGPU support: on a ZeroGPU Space, functions that use CUDA must be wrapped in spaces.GPU.

The `spaces` package exists only on Spaces; everywhere else `gpu` returns the function as is.
On ZeroGPU (`ZEROGPU` true) the app builds its interface with the default backbone on the CPU,
so nothing touches CUDA outside a wrapped function: every event that loads a model or computes
is wrapped, and loads its model onto the GPU inside the wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:  # only on Hugging Face Spaces
    import spaces
except ImportError:
    spaces = None

ZEROGPU = spaces is not None
DURATION_S = 60  # what one call may hold the GPU for; Compare and heavy methods stay well below it


def gpu(fn: F) -> F:
    """`fn` wrapped in spaces.GPU on Spaces; `fn` itself elsewhere."""
    return spaces.GPU(duration=DURATION_S)(fn) if ZEROGPU else fn


def build_device() -> str | None:
    """Where the interface's start-up backbone loads: the CPU on ZeroGPU, the usual choice elsewhere."""
    return "cpu" if ZEROGPU else None
