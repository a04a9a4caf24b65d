"""registry.compare: the grid of every combination, its figure, its errors and its shared pass."""

import numpy as np
import pytest
import timm
import torch
from PIL import Image

import registry
from tests.plugins.test_gradcam import quadrants
from tests.test_readme import code_blocks

LITES = ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]
HEATMAPS = [plugin.name for plugin in registry.list_plugins() if plugin.output == "heatmap"]


def keys(comparison):
    return [(c.backbone, c.plugin, c.target, c.layer) for c in comparison.cells]


def test_defaults_are_the_three_seed_methods_on_the_default_backbone(samples):
    comparison = registry.compare(samples["cat"])
    assert keys(comparison) == [
        (registry.DEFAULT_BACKBONE, name, None, None) for name in ("feature_maps", "gradcam", "saliency")
    ]
    assert all(cell.error is None and cell.seconds > 0 for cell in comparison.cells)
    assert comparison.seconds >= sum(cell.seconds for cell in comparison.cells)
    assert len(comparison.rows) == 1 and comparison.rows[0].prediction[:2] == (282, "tiger cat")


def test_backbones_preset_gives_one_row_per_backbone(samples):
    comparison = registry.compare(samples["coffee"], backbones=LITES, plugins=["gradcam", "saliency"])
    assert [(c.backbone, c.plugin) for c in comparison.cells] == [
        (b, p) for b in LITES for p in ("gradcam", "saliency")
    ]
    assert [row.backbone for row in comparison.rows] == LITES
    assert all(row.prediction[1] == "espresso" for row in comparison.rows)
    lite2 = comparison.cell("tf_efficientnet_lite2", "gradcam").result
    assert lite2.heatmap.shape == (260, 260)  # each backbone keeps its own model view


def test_predicted_vs_true_class_gives_the_two_classes_with_different_maps(samples):
    comparison = registry.compare(
        quadrants(samples), plugins=["feature_maps", "gradcam", "saliency"], targets=[None, 967]
    )
    assert len(comparison.cells) == 5  # feature maps explain no class: one cell, not two
    assert len(comparison.rows) == 2
    predicted = comparison.cell(registry.DEFAULT_BACKBONE, "gradcam", None).result
    espresso = comparison.cell(registry.DEFAULT_BACKBONE, "gradcam", 967).result
    assert predicted.target == comparison.rows[0].prediction[0] != 967
    assert (espresso.target, espresso.label) == (967, "espresso")
    assert np.corrcoef(predicted.heatmap.ravel(), espresso.heatmap.ravel())[0, 1] < 0.8
    top_right = espresso.heatmap[:112, 112:].sum() / espresso.heatmap.sum()
    assert top_right > 0.6  # the espresso map lies on the coffee cup's quadrant
    # On the common scale the two Grad-CAM maps share one colour bar, drawn once, under the lower of them, and so do
    # the two saliency maps; feature maps (each tile on its own range, no raw scale) have none.
    for column in (1, 2):
        assert [coloured_in_scale_strip(comparison.figure, row, column) for row in (0, 1)] == [False, True], column
    assert not coloured_in_scale_strip(comparison.figure, 0, column=0)


def test_depth_words_give_three_distinct_layers_in_depth_order(samples):
    comparison = registry.compare(
        samples["cat"], plugins=["feature_maps", "gradcam", "saliency"], layers=["early", "middle", "final"]
    )
    assert len(comparison.cells) == 7  # saliency reads no layer: one cell
    for plugin in ("feature_maps", "gradcam"):
        found = [
            comparison.cell(registry.DEFAULT_BACKBONE, plugin, layer=word).result.layer
            for word in ("early", "middle", "final")
        ]
        assert len({layer.name for layer in found}) == 3
        assert found[0].depth < found[1].depth < found[2].depth
        assert [layer.depth_name for layer in found] == ["early", "middle", "final"]


def test_shared_pass_gives_the_same_maps_as_each_plugin_run_alone(samples):
    """Every registered heatmap method, in one comparison and alone, for a class that is not the prediction
    (812: space shuttle). Structure only, so on timm's tiny test_resnet with random weights."""
    tiny = registry.load_backbone("test_resnet", weights=registry.RANDOM)
    comparison = registry.compare(
        samples["rocket"],
        backbones=["test_resnet"],
        plugins=HEATMAPS,
        targets=[812],
        common_scale=False,
        allow_random=True,
    )
    # LRP: skip connections; LeGrad: no attention
    refusals = {name: registry.get_plugin(name).refusal(tiny) for name in HEATMAPS}
    assert [cell.plugin for cell in comparison.cells] == HEATMAPS
    assert {cell.plugin: cell.error for cell in comparison.cells} == refusals
    for cell in comparison.cells:
        plugin = registry.get_plugin(cell.plugin)
        if refusals[cell.plugin]:
            continue
        alone = plugin.run(tiny, samples["rocket"], target=cell.target, layer=cell.layer).heatmap
        np.testing.assert_allclose(cell.result.heatmap, alone, atol=1e-4, err_msg=cell.key)
    varied = [cell.plugin for cell in comparison.cells if cell.result and cell.result.heatmap.std() > 0.01]
    applicable = [name for name in HEATMAPS if not refusals[name]]
    assert len(varied) >= len(applicable) - 1, f"most maps should not be flat: {varied}"


def test_an_unknown_backbone_fills_only_its_own_cells(samples):
    comparison = registry.compare(
        samples["cat"],
        backbones=["tf_efficientnet_lite0", "no_such_net", "tf_efficientnet_lite1"],
        plugins=["gradcam", "saliency"],
    )
    failed = [cell for cell in comparison.cells if cell.error]
    assert [(c.backbone, c.plugin) for c in failed] == [("no_such_net", "gradcam"), ("no_such_net", "saliency")]
    assert all("not a timm model" in cell.error and cell.result is None for cell in failed)
    assert sum(cell.result is not None for cell in comparison.cells) == 4
    figure = comparison.figure
    assert isinstance(figure, Image.Image) and figure.height > 3 * 224 and figure.width > 2 * 224
    from registry.analysis._figures import FIGURE_LABEL_WIDTH

    # a corner of the first cell of the failed row, clear of the reason written across the tile's middle
    error_tile = np.asarray(figure)[comparison_row_y(comparison, 1) + 10, FIGURE_LABEL_WIDTH + 4 + 10]
    assert tuple(error_tile) == (255, 236, 236)  # the failed row is drawn, as a pale red tile with the reason


def comparison_row_y(comparison, index):
    """Where row `index` starts in a figure with heatmaps (each with its colour bar's strip under it)."""
    from registry.analysis._figures import FIGURE_CAPTION, FIGURE_HEADER, FIGURE_MARGIN, FIGURE_SCALE, FIGURE_TILE

    return FIGURE_MARGIN + FIGURE_HEADER + 4 + index * (FIGURE_TILE + FIGURE_CAPTION + FIGURE_SCALE + 4)


def coloured_in_scale_strip(figure, row: int, column: int) -> bool:
    """Whether the strip under a cell's map and caption in a comparison figure (with heatmaps) holds a colour bar
    (saturated pixels), not just words. Used by the browser tests too, on the figure a page shows."""
    from registry.analysis._figures import FIGURE_CAPTION, FIGURE_LABEL_WIDTH, FIGURE_SCALE, FIGURE_TILE

    top, left = comparison_row_y(None, row) + FIGURE_TILE + FIGURE_CAPTION, FIGURE_LABEL_WIDTH + 4
    left += column * (FIGURE_TILE + 4)
    strip = np.asarray(figure.convert("RGB"))[top : top + FIGURE_SCALE, left : left + FIGURE_TILE].astype(int)
    return int(((strip.max(axis=2) - strip.min(axis=2)) > 100).sum()) > 500


def test_many_methods_wrap_into_bands_so_every_map_keeps_its_size(tiny, samples):
    from registry.analysis._figures import FIGURE_COLUMNS, FIGURE_LABEL_WIDTH, FIGURE_TILE

    methods = ["gradcam", "saliency", "hirescam", "layercam", "xgradcam", "eigencam"]
    comparison = registry.compare(samples["cat"], backbones=[tiny], plugins=methods)
    figure = comparison.figure
    assert figure.width == FIGURE_LABEL_WIDTH + FIGURE_COLUMNS * (FIGURE_TILE + 4) + 4  # four across, not six
    assert figure.height > comparison_row_y(comparison, 0) + 2 * FIGURE_TILE  # a second band below the first
    pixels = np.asarray(figure)
    assert (pixels[:30] == 255).all()  # the margin on top stays clear for the viewer's label and buttons


def test_missing_weights_are_a_cell_error_unless_random_is_allowed(samples):
    refused = registry.compare(samples["cat"], backbones=["resnet18"], plugins=["gradcam"])
    assert "Allow" not in refused.cells[0].error and "weights" in refused.cells[0].error
    allowed = registry.compare(samples["cat"], backbones=["resnet18"], plugins=["gradcam"], allow_random=True)
    assert allowed.cells[0].result.untrained and allowed.cells[0].result.layer.name == "layer4"


def test_a_method_that_cannot_apply_to_a_model_fills_its_cells_with_the_reason(samples):
    torch.manual_seed(0)
    resnet = registry.Backbone("resnet18", timm.create_model("resnet18"), torch.device("cpu"), "seeded random", True)
    lite0 = registry.load_backbone(registry.DEFAULT_BACKBONE)
    comparison = registry.compare(
        samples["cat"], backbones=[lite0, resnet], plugins=["gradcam", "saliency"], layers=["blocks.3"]
    )
    assert comparison.cell("tf_efficientnet_lite0", "gradcam", layer="blocks.3").result.layer.name == "blocks.3"
    assert "resnet18 has no layer called 'blocks.3'" in comparison.cell("resnet18", "gradcam", layer="blocks.3").error
    assert comparison.cell("resnet18", "saliency").result is not None


def test_a_plugin_written_as_in_the_readme_works_in_compare(samples):
    namespace: dict = {}
    exec(next(block for block in code_blocks("python") if "class GradientNorm" in block), namespace)  # noqa: S102
    readme_plugin = namespace["GradientNorm"]()
    comparison = registry.compare(
        samples["coffee"], plugins=[readme_plugin, "gradcam"], targets=[None, 968], common_scale=False
    )
    for target, label in [(None, "espresso"), (968, "cup")]:
        result = comparison.cell(registry.DEFAULT_BACKBONE, readme_plugin.name, target).result
        assert result.label == label and result.heatmap.max() == 1.0
    own_bars = [coloured_in_scale_strip(comparison.figure, row, column) for row in (0, 1) for column in (0, 1)]
    assert all(own_bars)  # the common scale off: each map has its own bar
    alone = readme_plugin.run(registry.load_backbone(registry.DEFAULT_BACKBONE), samples["coffee"], target=968).heatmap
    assert (
        np.corrcoef(
            alone.ravel(), comparison.cell(registry.DEFAULT_BACKBONE, readme_plugin.name, 968).result.heatmap.ravel()
        )[0, 1]
        > 0.999
    )


def test_progress_advances_once_per_cell(samples):
    seen = []
    comparison = registry.compare(
        samples["cat"],
        backbones=["tf_efficientnet_lite0", "no_such_net"],
        plugins=["gradcam", "saliency"],
        progress=lambda fraction, what: seen.append(fraction * 4),
    )
    assert seen[-1] == len(comparison.cells) == 4
    assert all(float(done).is_integer() for done in seen) and seen == sorted(seen)


def test_maps_are_keyed_by_cell(samples):
    comparison = registry.compare(samples["cat"], targets=[None, 281])
    maps = comparison.maps()
    assert set(maps) == {cell.key for cell in comparison.cells if cell.plugin != "feature_maps"}
    assert all(heat.dtype == np.float32 and heat.shape == (224, 224) for heat in maps.values())


def test_parameters_reach_the_methods_that_declare_them(samples):
    comparison = registry.compare(samples["cat"], plugins=["feature_maps", "saliency"], count=4, colormap="gray")
    assert comparison.cell(registry.DEFAULT_BACKBONE, "feature_maps").result.captions[0].count("#") == 4  # 4 channels
    overlay = comparison.cell(registry.DEFAULT_BACKBONE, "saliency").result.images[1]
    pixels = np.asarray(overlay).reshape(-1, 3)
    assert (pixels[:, 0] == pixels[:, 1]).all()  # a grey colour map


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"backbones": []}, "at least one backbone"),
        ({"plugins": []}, "at least one method"),
        ({"targets": []}, "at least one class"),
        ({"layers": []}, "at least one layer"),
        ({"backbones": ["tf_efficientnet_lite0", "tf_efficientnet_lite0"]}, "repeated: tf_efficientnet_lite0"),
        ({"targets": [None, None]}, "repeated: None"),
        ({"plugins": ["gradcam", "no_such_method"]}, "no method called 'no_such_method'"),
        ({"targets": [1000]}, "from 0 to 999"),
        ({"targets": [-3]}, "class number"),
        ({"targets": ["cat"]}, "class number"),
        ({"layers": [""]}, "A layer is a module name"),
        ({"backbones": "tf_efficientnet_lite0"}, "as a list"),
        ({"not_a_param": 1}, "No chosen method has a parameter not_a_param"),
        ({"targets": list(range(25)), "plugins": ["gradcam", "saliency"]}, "asks for 50 maps; the limit is 48"),
    ],
)
def test_bad_requests_are_clear_value_errors(samples, kwargs, message):
    with pytest.raises(ValueError, match=message):
        registry.compare(samples["cat"], **kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"targets": [f"not a class {i}" for i in range(40_000)]}, "at most 48 classes at once; got 40000"),
        ({"layers": [f"no.such.layer{i}" for i in range(1_500)]}, "at most 48 layers at once; got 1500"),
        ({"targets": [f"x{i}" for i in range(40)], "layers": ["a", "b"]}, "asks for 120 maps"),
    ],
)
def test_a_request_over_the_limits_is_refused_from_its_lengths_before_anything_is_parsed_or_loaded(
    samples, kwargs, message
):
    """Every value here is also invalid and the backbone does not exist: the limit speaks first."""
    with pytest.raises(ValueError, match=message):
        registry.compare(samples["cat"], backbones=["no_such_backbone"], plugins=["gradcam", "saliency"], **kwargs)


def test_many_repeats_are_named_five_at_a_time(samples):
    with pytest.raises(ValueError, match=r"repeated: 0, 1, 2, 3, 4 and 5 more\.$"):
        registry.compare(samples["cat"], plugins=["feature_maps"], targets=list(range(10)) * 2)


def test_a_depth_word_on_a_model_without_stages_is_refused(samples):
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 224 * 224, 10))
    flat.num_classes = 10
    backbone = registry.Backbone("flat", flat, torch.device("cpu"), "seeded random", True)
    with pytest.raises(ValueError, match="flat has no stages with a spatial map"):
        registry.compare(samples["cat"], backbones=[backbone], layers=["early"])
    comparison = registry.compare(samples["cat"], backbones=[backbone], plugins=["saliency", "gradcam"])
    assert comparison.cell("flat", "saliency").result is not None
    assert "no layer with spatial extent" in comparison.cell("flat", "gradcam").error


@pytest.mark.parametrize("image", ["coffee", "cat", "rocket"])
def test_a_common_scale_makes_a_class_the_model_barely_sees_look_weak(samples, image):
    common = registry.compare(samples[image], plugins=["gradcam"], targets=[None, 500])
    own = registry.compare(samples[image], plugins=["gradcam"], targets=[None, 500], common_scale=False)
    predicted, unlikely = (common.cell(registry.DEFAULT_BACKBONE, "gradcam", t).result for t in (None, 500))
    assert unlikely.probability < 0.01 and predicted.scale == unlikely.scale
    assert predicted.heatmap.max() == pytest.approx(1.0) and unlikely.heatmap.max() < 0.5
    assert own.cell(registry.DEFAULT_BACKBONE, "gradcam", 500).result.heatmap.max() == pytest.approx(1.0)
    np.testing.assert_allclose(
        common.cell(registry.DEFAULT_BACKBONE, "gradcam", None).result.heatmap,
        own.cell(registry.DEFAULT_BACKBONE, "gradcam", None).result.heatmap,
        atol=1e-6,
    )


def test_a_method_refused_on_a_backbone_fills_its_cell_with_the_reason(samples):
    from testkit.transformers import transformer

    vit = transformer("vit")
    comparison = registry.compare(samples["cat"], backbones=[vit], plugins=["guided_backprop", "gradcam", "saliency"])
    refused = comparison.cell("vit_tiny_patch16_224", "guided_backprop")
    assert refused.result is None and refused.error == registry.get_plugin("guided_backprop").refusal(vit)
    assert "no ReLU-like activations" in refused.error
    for name in ("gradcam", "saliency"):
        cell = comparison.cell("vit_tiny_patch16_224", name)
        assert cell.error is None and cell.result.heatmap.std() > 0.01
    assert comparison.cell("vit_tiny_patch16_224", "gradcam").result.layer.name == "blocks.11.norm1"
    assert isinstance(comparison.figure, Image.Image)
