"""The Compare tab's presets and handler: each preset fills the axes, and the grid has the shape it should."""

import gradio as gr
import numpy as np
import pytest

import registry
from app import compare_tab, handlers
from registry.analysis import MIN_SEEDS

LITE0 = registry.DEFAULT_BACKBONE
HEATMAPS = [p.name for p in registry.list_plugins() if p.output == "heatmap" and p.cost == "light"]


def quiet(*_args, **_kwargs):
    return None


@pytest.fixture(scope="module")
def presets():
    return compare_tab._presets(registry.load_backbone(LITE0), registry.list_plugins())


def run(samples, axes):
    backbones, methods, classes, layers, _image = axes
    return compare_tab.run_compare(str(samples["cat"]), backbones, methods, classes, layers, False, progress=quiet)


def test_backbones_preset_gives_a_row_per_backbone(presets, samples):
    axes = presets["Backbones"]([LITE0], [handlers.PREDICTED], handlers.PREDICTED, None)
    assert axes[0] == registry.list_backbones()[:3]
    _, summary, files, cells = run(samples, axes)
    assert len(cells) == 3 * len(axes[1]) and len({c["backbone"] for c in cells}) == 3
    assert summary.count("predicts") == 3


def test_correct_vs_incorrect_sets_a_samples_true_class_beside_the_prediction(presets, samples):
    """clock.png is a wall clock or an analog clock and lite0 calls it something else: the preset sets the true
    class the model rates highest beside its prediction (not the main target, not 'predicted' alone)."""
    clock = presets["Correct vs incorrect"]([LITE0], [handlers.PREDICTED], "285: Egyptian cat", str(samples["clock"]))
    assert clock[2][0] == handlers.PREDICTED and clock[2][1] in ("892: wall clock", "409: analog clock")
    _, _, _, cells = compare_tab.run_compare(
        str(samples["clock"]), *clock[:2], clock[2], clock[3], False, progress=quiet
    )
    assert all(registry.get_plugin(name).needs_target for name in clock[1])
    predicted, true = {c["target"] for c in cells if c["target_asked"] is None}, int(clock[2][1].split(":")[0])
    assert len(cells) == 2 * len(clock[1]) and true not in predicted and true in {c["target"] for c in cells}


def test_correct_vs_incorrect_on_a_sample_the_model_gets_right_moves_to_one_it_gets_wrong(presets, samples):
    """Issue 38: a right answer showed no wrong case. lite0 gets the coffee and the cat right, so the preset shows
    clock.png (its first mistake) with the prediction beside the true class; the image on screen becomes it."""
    for stem in ("coffee", "cat"):
        axes = presets["Correct vs incorrect"]([LITE0], [handlers.PREDICTED], "285: Egyptian cat", str(samples[stem]))
        assert axes[2] == [handlers.PREDICTED, "892: wall clock"], axes[2]
        assert registry.imaging.samples.identify(axes[4]).name == "clock"  # the same bytes, served from a copy


def test_correct_vs_incorrect_on_an_unlabelled_image_takes_the_picked_class_or_the_runner_up(
    presets, samples, tmp_path
):
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.open(samples["coffee"]).rotate(10).save(photo)  # not a bundled sample: no known label
    top, runner_up = registry.load_backbone(LITE0).predict(photo, k=2)
    assert top[0] == 967  # still an espresso
    picked = presets["Correct vs incorrect"]([LITE0], [handlers.PREDICTED, "968: cup"], None, str(photo))
    assert picked[2] == [handlers.PREDICTED, "968: cup"] and picked[4] == gr.update()
    from_main = presets["Correct vs incorrect"]([LITE0], [handlers.PREDICTED], "504: coffee mug", str(photo))
    assert from_main[2] == [handlers.PREDICTED, "504: coffee mug"]
    same = presets["Correct vs incorrect"]([LITE0], [handlers.PREDICTED], "967: espresso", str(photo))
    alone = presets["Correct vs incorrect"]([LITE0], [handlers.PREDICTED], handlers.PREDICTED, str(photo))
    assert same[2] == alone[2] == [handlers.PREDICTED, f"{runner_up[0]}: {runner_up[1]}"]  # never two identical rows


def test_the_summary_counts_only_the_maps_that_were_made(samples):
    _, summary, _, cells = compare_tab.run_compare(
        str(samples["cat"]), [LITE0, "vgg16"], ["gradcam"], None, None, False, progress=quiet
    )
    assert summary.startswith("**1 map in") and "· 1 could not be made" in summary
    assert sum(1 for cell in cells if cell.get("error")) == 1


def test_layers_preset_gives_three_depths_per_layer_method(presets, samples):
    axes = presets["Layers"]([LITE0, "tf_efficientnet_lite1"], [handlers.PREDICTED], handlers.PREDICTED, None)
    assert axes[0] == [LITE0] and axes[3] == ["early", "middle", "final"]
    _, _, _, cells = run(samples, axes)
    assert len(cells) == 3 * len(axes[1])
    for method in axes[1]:
        assert [c["depth"] for c in cells if c["plugin"] == method] == ["early", "middle", "final"]


def test_methods_preset_lists_every_light_heatmap_method_that_applies(presets, samples):
    """Every light heatmap method, less those refused on the starting backbone (lite0's ReLU6 has no DeepLift or LRP
    rule in captum): a preset of empty cells would teach nothing."""
    lite0 = registry.load_backbone(LITE0, device="cpu")
    applies = [name for name in HEATMAPS if registry.get_plugin(name).refusal(lite0) is None]
    assert "deeplift" in HEATMAPS and "deeplift" not in applies and "gradcam" in applies
    axes = presets["Methods"]([LITE0], [handlers.PREDICTED], handlers.PREDICTED, None)
    assert axes[1] == applies
    figure, _, files, cells = run(samples, axes)
    assert [c["plugin"] for c in cells] == applies and not [c for c in cells if c.get("error")]
    assert figure == files[0] and figure.endswith(".png")
    assert set(np.load(files[1]).files) == {c["key"] for c in cells}


def test_bad_axes_are_user_errors(samples):
    with pytest.raises(gr.Error, match="Choose at least one backbone"):
        compare_tab.run_compare(str(samples["cat"]), [], ["gradcam"], None, None, False, progress=quiet)
    with pytest.raises(gr.Error, match="is not a class: choose one from the list"):
        compare_tab.run_compare(str(samples["cat"]), [LITE0], ["gradcam"], ["golden"], None, False, progress=quiet)
    with pytest.raises(gr.Error, match="no method called 'nope'"):
        compare_tab.run_compare(str(samples["cat"]), [LITE0], ["nope"], None, None, False, progress=quiet)


def test_faithfulness_column_ranks_the_maps(samples):
    _, summary, _, cells = compare_tab.run_compare(
        str(samples["coffee"]), [LITE0], ["gradcam", "feature_maps"], None, None, False, True, True, progress=quiet
    )
    gradcam = next(c for c in cells if c["plugin"] == "gradcam")
    assert 0 <= gradcam["deletion_auc"] <= 1 and 0 <= gradcam["insertion_auc"] <= 1
    assert gradcam["deletion_auc"] < gradcam["random_deletion_auc"]  # Grad-CAM beats a random map on the espresso
    assert "deletion_auc" not in next(c for c in cells if c["plugin"] == "feature_maps")  # no map, no score
    assert "deletion AUC" in summary and gradcam["key"] in summary
    assert f"at least {MIN_SEEDS} random maps" in summary  # no verdict on 2 random maps: the summary says why


def test_cell_errors_shown_to_clients_carry_no_server_paths(samples, tmp_path):
    weights = tmp_path / "secret" / "weights.pth"
    weights.parent.mkdir()
    weights.write_bytes(b"not a checkpoint")
    _, summary, _, cells = compare_tab.run_compare(
        str(samples["cat"]), [LITE0, "resnet18"], ["gradcam"], None, [f"{weights}"], True, progress=quiet
    )
    assert all(str(tmp_path) not in (cell["error"] or "") for cell in cells) and str(tmp_path) not in summary
    assert any(cell["error"] for cell in cells)
