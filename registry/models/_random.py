"""The process's global random generators, seeded for one block at a time.

captum draws its noise from torch's and numpy's global generators, and timm draws random weights
from torch's. Threads share those generators, so two requests seeding them at once drew each
other's noise (a map that differed from the same request made alone). One lock makes every seeded
block whole: inside it, what is drawn depends on the seed only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import torch

_LOCK = threading.RLock()


@contextlib.contextmanager
def global_seed(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch's (CPU, and `device` when it is a GPU) and numpy's global generators for a block, alone in
    the process, restoring both afterwards so the caller's own draws are untouched."""
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    with _LOCK:
        state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                np.random.seed(seed)
                yield
        finally:
            np.random.set_state(state)
