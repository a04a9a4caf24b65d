"""ZeroGPU support: on a ZeroGPU Space, functions that use CUDA must be wrapped in spaces.GPU.

The `spaces` package exists only on Spaces; everywhere else `gpu` returns the function as is.
"""

from __future__ import annotations

from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

try:  # pragma: no cover - only on Hugging Face Spaces
    import spaces

    def gpu(fn: F) -> F:
        return spaces.GPU(duration=60)(fn)
except ImportError:
    def gpu(fn: F) -> F:
        return fn
