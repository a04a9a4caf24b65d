"""CNN Lens registry: the public Python API.

    import registry
    backbone = registry.load_backbone("tf_efficientnet_lite0")
    result = registry.get_plugin("gradcam").run(backbone, "examples/cat.png")
    result.heatmap, result.images[0], result.label
    comparison = registry.compare("examples/cat.png", backbones=["tf_efficientnet_lite0", "tf_efficientnet_lite2"])
    comparison.figure, comparison.cells
    score = registry.faithfulness(backbone, "examples/cat.png", result)      # deletion / insertion
    check = registry.sanity_check(backbone, "examples/cat.png", "gradcam")  # model randomization
    video = registry.explain_video("clip.mp4", backbone, "gradcam", every=3, out="runs/clip.mp4")
    test = registry.concept_test(backbone, "zebra", {"stripes": "stripes/"}, data="zebras/")  # TCAV

Plugins are discovered from `plugins/`, $CNNLENS_PLUGIN_PATH and the `cnnlens.plugins`
entry-point group; backbones are timm models.

The package is built in rooms, each importing only the rooms below it (tests/registry/test_layout.py checks):
imaging (decoding, samples, render) and models (backbones, weights, device, layers), then methods (the plugin
contract, the shared pass, discovery), analysis (compare, the trust checks), evaluation
(datasets), audit (concept tests), video (videos and the webcam, frame by frame), and teaching (the Learn tab).
"""

from __future__ import annotations

from registry.analysis import (
    BASELINES,
    MAX_CELLS,
    Cell,
    ChannelExample,
    Comparison,
    FaithfulnessScore,
    FeatureVisSettings,
    SanityCheck,
    SanityStep,
    channel_examples,
    compare,
    faithfulness,
    faithfulness_for_cells,
    sanity_check,
    visualize_channels,
)
from registry.audit import ConceptTest, Strategies, Strategy, concept_test, strategies
from registry.evaluation import (
    METRICS,
    DataError,
    Evaluation,
    EvaluationEngine,
    EvaluationProtocol,
    LabelError,
    MissingExtraError,
    Record,
    evaluate,
)
from registry.imaging import ImageError, load_image, render, to_rgb
from registry.methods import (
    API_VERSION,
    COSTS,
    ENTRY_POINT_GROUP,
    FAMILIES,
    ChannelCam,
    Context,
    GradientCam,
    Param,
    PerturbationCam,
    Plugin,
    PluginSpecError,
    PluginTimeout,
    Unsupported,
    Visualization,
)
from registry.methods._discovery import (
    LoadError,
    UnknownPluginError,
    catalog,
    get_plugin,
    list_plugins,
    load_errors,
    reload_plugins,
)
from registry.methods._request import RequestStopped, current_request, request_scope
from registry.methods._runner import check_applies
from registry.models import (
    CURATED,
    DEFAULT_BACKBONE,
    RANDOM,
    Backbone,
    LayerInfo,
    ModelTooLargeError,
    UnknownBackboneError,
    WeightsUnavailableError,
    cached_backbones,
    list_backbones,
    load_backbone,
    validate_name,
    wrap_model,
)
from registry.video import VIDEO_COLUMNS, VideoExplanation, explain_video

__all__ = [
    "API_VERSION",
    "BASELINES",
    "COSTS",
    "CURATED",
    "DEFAULT_BACKBONE",
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "MAX_CELLS",
    "METRICS",
    "RANDOM",
    "VIDEO_COLUMNS",
    "Backbone",
    "Cell",
    "ChannelCam",
    "ChannelExample",
    "Comparison",
    "ConceptTest",
    "Context",
    "DataError",
    "Evaluation",
    "EvaluationEngine",
    "EvaluationProtocol",
    "FaithfulnessScore",
    "FeatureVisSettings",
    "GradientCam",
    "ImageError",
    "LabelError",
    "LayerInfo",
    "LoadError",
    "MissingExtraError",
    "ModelTooLargeError",
    "Param",
    "PerturbationCam",
    "Plugin",
    "PluginSpecError",
    "PluginTimeout",
    "Record",
    "RequestStopped",
    "SanityCheck",
    "SanityStep",
    "Strategies",
    "Strategy",
    "UnknownBackboneError",
    "UnknownPluginError",
    "Unsupported",
    "VideoExplanation",
    "Visualization",
    "WeightsUnavailableError",
    "cached_backbones",
    "catalog",
    "channel_examples",
    "check_applies",
    "compare",
    "concept_test",
    "current_request",
    "evaluate",
    "explain_video",
    "faithfulness",
    "faithfulness_for_cells",
    "get_plugin",
    "list_backbones",
    "list_plugins",
    "load_backbone",
    "load_errors",
    "load_image",
    "reload_plugins",
    "render",
    "request_scope",
    "sanity_check",
    "strategies",
    "to_rgb",
    "validate_name",
    "visualize_channels",
    "wrap_model",
]
