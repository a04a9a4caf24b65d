"""engine="ray": Ray Data reads the units, `map_batches` runs an actor per CPU slot (or GPU) holding the model.

The actors run the local engine's own `Evaluator.rows` on their batches, so both engines give the same rows
(tested). It joins the cluster at `address` or $RAY_ADDRESS when there is one (`ray job submit` sets it), and
otherwise starts a local one of 2 CPUs. On a real cluster every node needs this package installed
(`pip install "cnn-lens[ray]"`); a local cluster finds it through PYTHONPATH.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from registry.evaluation._engine import Evaluator, Settings
from registry.evaluation._extras import require
from registry.evaluation._units import Unit, load

__all__ = ["LOCAL_CPUS", "connect", "ray_rows"]

LOCAL_CPUS = 2  # the local cluster started when no address is given
_ROOT = Path(__file__).resolve().parents[2]  # the folder holding registry/ and plugins/


def connect(address: str | None = None) -> None:
    """Join the cluster at `address` (or $RAY_ADDRESS), else start a local one; nothing when already joined."""
    ray = require("ray")

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    path = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
    options: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "log_to_driver": False,
        "runtime_env": {"env_vars": {"PYTHONPATH": path, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "0")}},
    }
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=LOCAL_CPUS, **options)
    ray.data.DataContext.get_current().enable_progress_bars = False


class _Worker:
    """A Ray actor: one backbone loaded once, then batches of unit specs in, rows (as JSON) out."""

    def __init__(self, spec: dict[str, Any], methods: list[str], settings: Settings, labels: list[str | None]):
        from registry.models import load_backbone

        backbone = load_backbone(spec["name"], device=spec["device"], weights=spec["weights"])
        self.evaluator = Evaluator(backbone, methods, settings, labels)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        units = [Unit.from_spec(str(text)) for text in batch["unit"]]
        rows = self.evaluator.rows([load(self.evaluator.maker, unit) for unit in units])
        seen: set[str] = set()
        first = []
        for row in rows:  # the first row of each unit counts it, for the progress bar
            first.append(row["image"] not in seen)
            seen.add(row["image"])
        return {"row": np.array([json.dumps(row) for row in rows], dtype=object), "first": np.array(first, dtype=bool)}


def ray_rows(
    spec: dict[str, Any],
    methods: list[str],
    settings: Settings,
    labels: Sequence[str | None],
    units: list[Unit],
    *,
    batch_size: int,
    concurrency: int | None,
    address: str | None,
    on_rows: Callable[[list[dict[str, Any]], int], None],
) -> None:
    """The rows of `units` on one backbone, computed by Ray Data actors, handed to `on_rows` as they arrive."""
    ray = require("ray")

    connect(address)
    gpus = 1 if spec.get("device") in (None, "cuda") and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    slots = int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1))
    data = ray.data.from_items([{"unit": unit.spec()} for unit in units])
    rows = data.map_batches(
        _Worker,
        fn_constructor_kwargs={"spec": spec, "methods": methods, "settings": settings, "labels": list(labels)},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=max(1, concurrency or slots)),
        num_gpus=gpus,
        num_cpus=0 if gpus else 1,
    )
    for batch in rows.iter_batches(batch_size=None, batch_format="numpy"):
        on_rows([json.loads(str(text)) for text in batch["row"]], int(np.sum(batch["first"])))
