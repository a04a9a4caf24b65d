"""CNN Lens registry: the public Python API.

    import registry
    backbone = registry.load_backbone("tf_efficientnet_lite0")
    result = registry.get_plugin("gradcam").run(backbone, "examples/cat.png")
    result.heatmap, result.images[0], result.label
    comparison = registry.compare("examples/cat.png", backbones=["tf_efficientnet_lite0", "tf_efficientnet_lite2"])
    comparison.figure, comparison.cells
    score = registry.faithfulness(backbone, "examples/cat.png", result)      # deletion / insertion
    check = registry.sanity_check(backbone, "examples/cat.png", "gradcam")  # model randomization

Plugins are discovered from `plugins/`, $CNNLENS_PLUGIN_PATH and the `cnnlens.plugins`
entry-point group; backbones are timm models.
"""

from __future__ import annotations

from registry.backbones import (
    CURATED,
    DEFAULT_BACKBONE,
    Backbone,
    UnknownBackboneError,
    cached_backbones,
    list_backbones,
    load_backbone,
    validate_name,
)
from registry.compare import MAX_CELLS, Cell, Comparison, compare
from registry.faithfulness import BASELINES, FaithfulnessScore, faithfulness, faithfulness_for_cells
from registry.discovery import ENTRY_POINT_GROUP, LoadError, catalog, reload_plugins
from registry.images import ImageError, load_image, to_rgb
from registry.layers import LayerInfo
from registry.params import Param, PluginSpecError
from registry.plugin import API_VERSION, COSTS, Context, Plugin, PluginTimeout, Unsupported, Visualization
from registry.sanity import SanityCheck, SanityStep, sanity_check
from registry.weights import RANDOM, WeightsUnavailableError


def list_plugins() -> list[Plugin]:
    """Every loaded plugin, in discovery order."""
    return list(catalog().plugins.values())


def get_plugin(name: str) -> Plugin:
    """The plugin called `name`; KeyError naming the loaded ones when absent."""
    plugins = catalog().plugins
    if name not in plugins:
        raise KeyError(f"no plugin {name!r}; loaded: {', '.join(plugins) or 'none'}")
    return plugins[name]


def load_errors() -> list[LoadError]:
    """Plugins that failed to load, with where they came from and why."""
    return list(catalog().errors)


__all__ = [
    "API_VERSION", "COSTS", "PluginTimeout", "Backbone", "CURATED", "Cell", "Comparison", "Context", "MAX_CELLS", "compare", "DEFAULT_BACKBONE", "ENTRY_POINT_GROUP", "ImageError", "LayerInfo",
    "LoadError", "Param", "Plugin", "PluginSpecError", "RANDOM", "UnknownBackboneError", "Unsupported", "Visualization",
    "WeightsUnavailableError", "cached_backbones", "get_plugin", "list_backbones", "list_plugins",
    "load_backbone", "load_errors", "load_image", "reload_plugins", "to_rgb", "validate_name",
    "BASELINES", "FaithfulnessScore", "SanityCheck", "SanityStep", "faithfulness", "faithfulness_for_cells", "sanity_check",
]
