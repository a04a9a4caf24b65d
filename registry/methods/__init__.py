"""Methods: the plugin contract (declarations, parameters, the one run), the shared pass, discovery of plugins,
and the helpers the built-in plugins share. Imports only from registry.imaging and registry.models.

This package's names are a plugin author's: the contract (`Plugin`, `Param`, `Context`, `Visualization` and their
vocabularies), the CAM bases, the settings and attribution helpers the built-in plugins share. The app and
scripts reach discovery and requests through `registry`; the registry's other rooms import the private modules
they need. `registry.testing` is the contract suite a plugin's own tests run; it is imported on demand.
"""

from __future__ import annotations

from registry.methods._attribution import (
    INPUT_BASELINES,
    apply_sign,
    baseline,
    blank_channels,
    channel_sum,
    gaussian_blur,
    seed_note,
    seeded,
    top_channels,
    upsample,
)
from registry.methods._cam import (
    FUSABLE_CAMS,
    HOW_TO_READ_A_CAM,
    ChannelCam,
    GradientCam,
    PerturbationCam,
    SampledScoreCam,
    base_maps,
    first_component,
    layer_unit_masks,
    oriented,
)
from registry.methods._discovery import ENTRY_POINT_GROUP
from registry.methods._guided import (
    RELU_LIKE,
    ReluRuleMap,
    activation_census,
    guided_gradient,
    no_rule_reason,
    note_activations,
    smooth_note,
)
from registry.methods._params import Param, PluginSpecError
from registry.methods._plugin import (
    API_VERSION,
    COSTS,
    DEPTHS,
    FAMILIES,
    Context,
    Plugin,
    PluginTimeout,
    Visualization,
    normalise,
    normalize,
)
from registry.methods._relevance import (
    RuleAttribution,
    deeplift_problem,
    identity_rules,
    lrp_problem,
    model_outputs,
    note_completeness,
)
from registry.methods._runner import Unsupported
from registry.methods._shared_params import (
    batch_param,
    channel_cap_param,
    noise_param,
    sampled_score_params,
    samples_param,
    seed_param,
    sign_param,
)
from registry.methods._shared_pass import gradients_of, record_forward
from registry.methods._superpixels import (
    SUPERPIXEL_BASELINES,
    SuperpixelAttribution,
    superpixel_baseline,
    superpixel_mask,
    superpixel_params,
)

__all__ = [
    "API_VERSION",
    "COSTS",
    "DEPTHS",
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "FUSABLE_CAMS",
    "HOW_TO_READ_A_CAM",
    "INPUT_BASELINES",
    "RELU_LIKE",
    "SUPERPIXEL_BASELINES",
    "ChannelCam",
    "Context",
    "GradientCam",
    "Param",
    "PerturbationCam",
    "Plugin",
    "PluginSpecError",
    "PluginTimeout",
    "ReluRuleMap",
    "RuleAttribution",
    "SampledScoreCam",
    "SuperpixelAttribution",
    "Unsupported",
    "Visualization",
    "activation_census",
    "apply_sign",
    "base_maps",
    "baseline",
    "batch_param",
    "blank_channels",
    "channel_cap_param",
    "channel_sum",
    "deeplift_problem",
    "first_component",
    "gaussian_blur",
    "gradients_of",
    "guided_gradient",
    "identity_rules",
    "layer_unit_masks",
    "lrp_problem",
    "model_outputs",
    "no_rule_reason",
    "noise_param",
    "normalise",
    "normalize",
    "note_activations",
    "note_completeness",
    "oriented",
    "record_forward",
    "sampled_score_params",
    "samples_param",
    "seed_note",
    "seed_param",
    "seeded",
    "sign_param",
    "smooth_note",
    "superpixel_baseline",
    "superpixel_mask",
    "superpixel_params",
    "top_channels",
    "upsample",
]
