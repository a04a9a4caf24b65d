"""`registry.evaluate`'s knobs in two groups: how the maps are scored, and how the rows are computed.

    registry.evaluate("samples", methods=["gradcam"], metrics=["deletion"],
                      protocol=EvaluationProtocol(steps=10), engine=EvaluationEngine(batch_size=16))

The protocol changes the numbers (a rerun into the same `out` reuses a row only under the same protocol); the engine
changes only where and how fast they are computed (both engines give the same rows).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields, replace
from typing import Any

from registry.analysis._faithfulness import BASELINES, MAX_STEPS

__all__ = ["DEFAULT_BATCH_SIZE", "ENGINES", "EvaluationEngine", "EvaluationProtocol", "from_keywords"]

ENGINES = ("local", "ray")
# 8, not 16: on a 2-core CPU a batch of 16 runs slower per image than one of 8 (its activations leave the cache;
# benchmarks/RESULTS.md, "Evaluate"); a GPU wants more (`--batch-size 64`, README).
DEFAULT_BATCH_SIZE = 8


@dataclass(frozen=True)
class EvaluationProtocol:
    """How the maps are scored (see registry/evaluation/_metrics.py for each metric's paper).

    tolerance: the pointing game's radius in image pixels (TorchRay: 15). steps, seeds, baseline, deletion_baseline:
    deletion / insertion as `registry.faithfulness` runs them. min_confidence, grids, grid_seed: the grid pointing
    game's images (right and at least this probable), the most grids per backbone (None: as many as the images
    allow) and the seed choosing them. An out-of-range value is refused, in a sentence, here.
    """

    tolerance: float = 15.0
    steps: int = 20
    seeds: int = 3
    baseline: str = "blur"
    deletion_baseline: str = "zero"
    min_confidence: float = 0.5
    grids: int | None = None
    grid_seed: int = 0

    def __post_init__(self) -> None:
        for name, kind in (("tolerance", float), ("steps", int), ("seeds", int), ("min_confidence", float)):
            object.__setattr__(self, name, kind(getattr(self, name)))  # 15 and 15.0: one protocol, one row key
        object.__setattr__(self, "grid_seed", int(self.grid_seed))
        if not 2 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps must be a whole number from 2 to {MAX_STEPS}; got {self.steps!r}.")
        if not 1 <= self.seeds <= 20:
            raise ValueError(f"seeds must be a whole number from 1 to 20; got {self.seeds!r}.")
        for name in ("baseline", "deletion_baseline"):
            if getattr(self, name) not in BASELINES:
                raise ValueError(f"{name} must be one of {', '.join(BASELINES)}; got {getattr(self, name)!r}.")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must lie between 0 and 1; got {self.min_confidence!r}.")
        if not self.tolerance >= 0:
            raise ValueError(f"tolerance must be a number of pixels, 0 or more; got {self.tolerance!r}.")


@dataclass(frozen=True)
class EvaluationEngine:
    """Where the rows are computed: "local" (in this process: `batch_size` images through the model at once,
    `num_workers` DataLoader processes decoding meanwhile) or "ray" (Ray Data: `address` or $RAY_ADDRESS, else a
    local cluster of 2 CPUs; `concurrency` actors, each holding the model)."""

    name: str = "local"
    batch_size: int = DEFAULT_BATCH_SIZE
    num_workers: int = 0
    address: str | None = None
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {self.name!r}.")
        size = self.batch_size
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1024:
            raise ValueError(f"batch_size must be a whole number from 1 to 1024; got {size!r}.")


def from_keywords(
    protocol: EvaluationProtocol, engine: EvaluationEngine | str, keywords: dict[str, Any]
) -> tuple[EvaluationProtocol, EvaluationEngine]:
    """The two groups, with `engine` given by name ("ray") and the separate keywords `evaluate` took before the
    groups (tolerance=, batch_size=, …: still accepted for a release, with a DeprecationWarning) folded in."""
    engine = EvaluationEngine(name=engine) if isinstance(engine, str) else engine
    if not keywords:
        return protocol, engine
    of_protocol = {field.name for field in fields(EvaluationProtocol)}
    of_engine = {field.name for field in fields(EvaluationEngine)} - {"name"}
    unknown = sorted(set(keywords) - of_protocol - of_engine)
    if unknown:
        raise TypeError(f"evaluate() got an unexpected keyword argument {unknown[0]!r}")
    warnings.warn(
        f"evaluate({', '.join(f'{name}=' for name in keywords)}) is deprecated: pass "
        "protocol=EvaluationProtocol(…) and engine=EvaluationEngine(…) instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    protocol = replace(protocol, **{name: value for name, value in keywords.items() if name in of_protocol})
    engine = replace(engine, **{name: value for name, value in keywords.items() if name in of_engine})
    return protocol, engine
