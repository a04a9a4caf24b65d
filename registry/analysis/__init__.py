"""Analysis: what is computed from several maps or runs, on top of the methods. Compare (every combination on
one image), the two trust checks (faithfulness: deletion / insertion; sanity: model randomization), the map
similarities they use, and their figures. Imports from registry.imaging, registry.models and registry.methods."""

from __future__ import annotations

from registry.analysis._compare import (
    DEFAULT_PLUGINS,
    MAX_BACKBONES,
    MAX_CELLS,
    Cell,
    Comparison,
    Row,
    check_compare_size,
    compare,
)
from registry.analysis._faithfulness import (
    BASELINES,
    DEFAULT_BATCH,
    DEFAULT_SEEDS,
    DEFAULT_STEPS,
    MAX_STEPS,
    FaithfulnessScore,
    faithfulness,
    faithfulness_for_cells,
)
from registry.analysis._sanity import ORIGINAL, SanityCheck, SanityStep, cascade, randomize, sanity_check
from registry.analysis._similarity import average_ranks, rank_correlation, ssim

__all__ = [
    "BASELINES",
    "DEFAULT_BATCH",
    "DEFAULT_PLUGINS",
    "DEFAULT_SEEDS",
    "DEFAULT_STEPS",
    "MAX_BACKBONES",
    "MAX_CELLS",
    "MAX_STEPS",
    "ORIGINAL",
    "Cell",
    "Comparison",
    "FaithfulnessScore",
    "Row",
    "SanityCheck",
    "SanityStep",
    "average_ranks",
    "cascade",
    "check_compare_size",
    "compare",
    "faithfulness",
    "faithfulness_for_cells",
    "randomize",
    "rank_correlation",
    "sanity_check",
    "ssim",
]
