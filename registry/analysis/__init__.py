"""Analysis: what is computed from several maps or runs, on top of the methods. Compare (every combination on
one image), the two trust checks (faithfulness: deletion / insertion; sanity: model randomization), the map
similarities they use, their figures, and feature visualization (what a channel
looks for). Imports from registry.imaging, registry.models and registry.methods."""

from __future__ import annotations

from registry.analysis._compare import (
    DEFAULT_PLUGINS,
    LONGEST_NAME,
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
    CLEAR_SPREADS,
    DEFAULT_BATCH,
    DEFAULT_SEEDS,
    DEFAULT_STEPS,
    MAX_STEPS,
    MIN_SEEDS,
    CurveTest,
    FaithfulnessScore,
    Verdict,
    faithfulness,
    faithfulness_for_cells,
)
from registry.analysis._feature_vis import (
    FEATURE_VIS_STEPS,
    OBJECTIVES,
    ChannelExample,
    FeatureVisSettings,
    cache_folder,
    channel_examples,
    default_steps,
    image_activations,
    layer_activations,
    picture_activations,
    visualize_channels,
)
from registry.analysis._mistakes import WrongCase, find_wrong_case
from registry.analysis._sanity import ORIGINAL, SanityCheck, SanityStep, cascade, randomize, sanity_check
from registry.analysis._similarity import average_ranks, rank_correlation, ssim

__all__ = [
    "BASELINES",
    "CLEAR_SPREADS",
    "DEFAULT_BATCH",
    "DEFAULT_PLUGINS",
    "DEFAULT_SEEDS",
    "DEFAULT_STEPS",
    "FEATURE_VIS_STEPS",
    "LONGEST_NAME",
    "MAX_BACKBONES",
    "MAX_CELLS",
    "MAX_STEPS",
    "MIN_SEEDS",
    "OBJECTIVES",
    "ORIGINAL",
    "Cell",
    "ChannelExample",
    "Comparison",
    "CurveTest",
    "FaithfulnessScore",
    "FeatureVisSettings",
    "Row",
    "SanityCheck",
    "SanityStep",
    "Verdict",
    "WrongCase",
    "average_ranks",
    "cache_folder",
    "cascade",
    "channel_examples",
    "check_compare_size",
    "compare",
    "default_steps",
    "faithfulness",
    "faithfulness_for_cells",
    "find_wrong_case",
    "image_activations",
    "layer_activations",
    "picture_activations",
    "randomize",
    "rank_correlation",
    "sanity_check",
    "ssim",
    "visualize_channels",
]
