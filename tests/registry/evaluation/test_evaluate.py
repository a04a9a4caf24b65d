"""registry.evaluate on the samples: rows equal to the one-image pipeline, batched, resumable, with files."""

import shutil
import time

import numpy as np
import pytest
import torch

import registry
from registry.evaluation import EvaluationEngine, EvaluationProtocol, energy_in, evaluate, peak, pointing_hit, records
from registry.evaluation._geometry import ViewMaker

ALL = ("top1", "top5", "pointing_game", "energy", "deletion", "insertion", "grid_pointing_game")
BY_TWO = EvaluationEngine(batch_size=2)
THREE = records("samples")[:3]  # cat, coffee, rocket: the structure checks need no more, and stay fast


def _by(rows, **wanted):
    return [row for row in rows if all(row[key] == value for key, value in wanted.items())]


@pytest.fixture(scope="module")
def tiny_run(tiny):
    """gradcam, saliency (both from the batch's shared pass) and guided backprop (the per-image pipeline)."""
    short = EvaluationProtocol(steps=2, seeds=1)
    return evaluate(THREE, [tiny], ["gradcam", "saliency", "guided_backprop"], ALL, protocol=short, engine=BY_TWO)


def test_one_row_per_image_method_and_target(tiny_run):
    rows = tiny_run.rows
    assert len(rows) == 3 * 3 and not tiny_run.errors
    assert [row["method"] for row in rows[:3]] == ["gradcam", "guided_backprop", "saliency"]
    cat = _by(rows, method="gradcam")[0]
    assert cat["image"].endswith("cat.png") and cat["label"] == "281|282|285" and cat["untrained"]
    assert cat["target"] in (281, 282, 285) and cat["top1"] is False  # random weights
    assert all(isinstance(row[name], float) for row in rows for name in ("deletion_auc", "insertion_auc"))
    assert all((row["energy"] is None) == row["map_zero"] for row in rows)  # a map zero everywhere shares nothing


@pytest.mark.parametrize("method", ["gradcam", "saliency", "guided_backprop"])
def test_rows_equal_the_one_image_pipeline(tiny, tiny_run, samples, method):
    """Each row's pointing game and energy are what plugin.run's map gives, scored by hand, image by image."""
    plugin = registry.get_plugin(method)
    maker = ViewMaker(tiny.data_config)
    for record in THREE:
        row = _by(tiny_run.rows, method=method, image=record.path)[0]
        result = plugin.run(tiny, record.path, target=row["target"])
        picture, size = maker.picture(record.path)
        where = maker.geometry(size, picture.size)
        r, c = peak(result.raw)
        x, y = where.to_image(c + 0.5, r + 0.5)
        assert row["pointing_game"] == pointing_hit((int(x), int(y)), box=record.box), record.path
        expected = energy_in(result.raw, where.box_mask(record.box))
        assert row["energy"] == (None if np.isnan(expected) else pytest.approx(expected, rel=1e-4, abs=1e-6))
        assert row["probability"] == pytest.approx(result.probability, rel=1e-4)


def test_deletion_and_insertion_equal_registry_faithfulness(tiny, tiny_run, samples):
    result = registry.get_plugin("gradcam").run(tiny, samples["coffee"], target=968)
    score = registry.faithfulness(tiny, samples["coffee"], result, steps=2, seeds=1, inverse=False)
    row = _by(tiny_run.rows, method="gradcam", image=str(samples["coffee"]))[0]
    assert row["target"] == 968
    for name in ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc"):
        assert row[name] == pytest.approx(getattr(score, name), rel=1e-4), name


def test_cam_and_saliency_take_one_forward_and_one_backward_per_batch(tiny, samples):
    calls = []
    handle = tiny.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        result = evaluate(
            "samples",
            [tiny],
            ["gradcam", "saliency", "xgradcam"],
            ["pointing_game"],
            engine=EvaluationEngine(batch_size=16),
        )
    finally:
        handle.remove()
    images = {row["image"] for row in result.rows}  # the labelled samples, in one batch: three maps each, one forward
    assert len(images) >= 6 and len(result.rows) == 3 * len(images) and len(calls) == 1


def test_summary_figure_files_and_resuming(tiny, tmp_path):
    out = tmp_path / "run"
    first = evaluate(THREE, [tiny], ["gradcam"], ["top1", "energy"], out=out, engine=BY_TWO)
    assert first.computed == 3
    for name in ("rows.parquet", "rows.csv", "summary.csv", "summary.png"):
        assert (out / name).is_file(), name
    summary = {(entry["method"], entry["score"]): entry for entry in first.summary}
    energy = summary[("gradcam", "energy")]
    assert energy["n"] == sum(not row["map_zero"] for row in first.rows)  # a map zero everywhere has no energy
    assert energy["low"] <= energy["mean"] <= energy["high"]
    assert summary[("", "top1")]["mean"] == 0.0
    assert first.figure.size[0] > 300
    again = evaluate(THREE, [tiny], ["gradcam"], ["top1", "energy"], out=out, engine=BY_TWO)
    assert again.computed == 0 and again.rows == first.rows
    more = evaluate(THREE, [tiny], ["gradcam", "saliency"], ["top1", "energy"], out=out, engine=BY_TWO)
    assert more.computed == 3 and len(more.rows) == 6  # only saliency's rows were new
    changed = evaluate(
        THREE, [tiny], ["gradcam"], ["top1", "energy"], out=out, protocol=EvaluationProtocol(tolerance=5)
    )
    assert changed.computed == 3 and len(changed.rows) == 3  # another setting: other rows, and only they count
    import pyarrow.parquet as pq

    assert pq.read_table(out / "rows.parquet").num_rows == 9


def test_unlabelled_images_explain_their_prediction_and_unreadable_files_are_rows(tiny, tmp_path, samples):
    shutil.copy(samples["cat"], tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    result = evaluate(tmp_path, [tiny], ["gradcam"], ["top1", "energy"])
    broken, cat = result.rows
    assert broken["error"] == registry.imaging.unreadable("broken.png") and result.errors == [broken["error"]]
    assert cat["target"] == cat["predicted"] and cat["top1"] is None and cat["energy"] is None  # no label, no box


def test_settings_and_methods_are_checked_in_words(tiny):
    with pytest.raises(ValueError, match="No metric called 'accuracy'"):
        evaluate("samples", [tiny], ["gradcam"], ["accuracy"])
    with pytest.raises(ValueError, match="shows pictures, not a heatmap"):
        evaluate("samples", [tiny], ["feature_maps"], ["energy"])
    with pytest.raises(ValueError, match="engine must be one of local, ray"):
        evaluate("samples", [tiny], engine="spark")
    with pytest.raises(registry.UnknownPluginError):
        evaluate("samples", [tiny], ["gradcan"])


def test_real_weights_point_at_the_object_and_pass_the_grid_game(lite0):
    """tf_efficientnet_lite0 classifies the samples: Grad-CAM's peak falls on the boxed object, its energy in the
    box beats the box's share of the view, and on grids of four right images it puts most mass in the target's
    cell (a uniform map gets 0.25)."""
    result = evaluate(
        "samples",
        [lite0],
        ["gradcam"],
        ["top1", "top5", "pointing_game", "energy", "grid_pointing_game"],
        protocol=EvaluationProtocol(min_confidence=0.2),
        engine=EvaluationEngine(batch_size=8),
    )
    images = _by(result.rows, kind="image")
    assert sum(row["top1"] for row in images) >= 4
    assert sum(row["pointing_game"] for row in images) >= 5
    grids = _by(result.rows, kind="grid")
    assert len(grids) >= 4 and {row["cell"] for row in grids} == {0, 1, 2, 3}
    assert result.mean("grid_pointing_game", "gradcam") > 0.5
    assert len({row["target"] for row in grids}) == 4
    maker = ViewMaker(lite0.data_config)
    shares = []
    for record in records("samples"):
        picture, size = maker.picture(record.path)
        shares.append(maker.geometry(size, picture.size).box_mask(record.box).mean())
    assert result.mean("energy", "gradcam") > np.mean(shares) - 0.02 or result.mean("energy", "gradcam") > 0.6
    assert torch.is_grad_enabled()


def test_a_mask_scores_as_its_box_does(tiny, tmp_path, samples):
    """A mask file filled where the box is gives the box's pointing game and energy."""
    from PIL import Image

    box = (75, 65, 480, 390)
    mask = np.zeros((400, 600), dtype=np.uint8)
    mask[65:390, 75:480] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    shutil.copy(samples["coffee"], tmp_path)
    (tmp_path / "m.csv").write_text(
        f'path,label,box,mask\ncoffee.png,espresso,"{",".join(map(str, box))}",\ncoffee.png,cup,,mask.png\n',
        encoding="utf-8",
    )
    by_box, by_mask = evaluate(tmp_path / "m.csv", [tiny], ["saliency"], ["pointing_game", "energy"]).rows
    assert (by_box["target"], by_mask["target"]) == (967, 968)
    same = evaluate([(tmp_path / "coffee.png", "cup", box)], [tiny], ["saliency"], ["pointing_game", "energy"]).rows[0]
    assert by_mask["pointing_game"] == same["pointing_game"]
    assert by_mask["energy"] == pytest.approx(same["energy"], rel=1e-6)
    (tmp_path / "small.png").write_bytes((tmp_path / "mask.png").read_bytes())
    Image.fromarray(mask[:10, :10]).save(tmp_path / "small.png")
    wrong = evaluate([(tmp_path / "coffee.png", "cup", None, tmp_path / "small.png")], [tiny], ["saliency"]).rows[0]
    assert "a mask must match its image" in wrong["error"]


def test_decoding_workers_and_progress(tiny):
    told = []
    alone = evaluate(THREE, [tiny], ["gradcam"], ["energy"], engine=BY_TWO)
    helped = evaluate(
        THREE,
        [tiny],
        ["gradcam"],
        ["energy"],
        engine=EvaluationEngine(batch_size=2, num_workers=2),
        progress=lambda f, w: told.append((f, w)),
    )
    assert helped.rows == alone.rows
    assert told[-1] == (1.0, "test_resnet: 3/3 units") and [f for f, _ in told] == sorted(f for f, _ in told)


def test_grids_take_four_classes_each_image_once():
    from registry.evaluation import build_grids

    candidates = [(f"{c}-{i}.png", c, 0.9) for c in (1, 2, 3, 4, 5) for i in range(c)]  # class c has c images
    grids = build_grids(candidates, seed=1)
    used = [path for grid in grids for path in grid.cells]
    assert len(used) == len(set(used)) and all(len(set(grid.classes)) == 4 for grid in grids)
    assert all(path.startswith(f"{c}-") for grid in grids for path, c in zip(grid.cells, grid.classes))
    assert len(grids) == 3  # 15 images; after three grids, classes 1 and 2 are used up and only three classes remain
    assert build_grids(candidates, seed=1) == grids and build_grids(candidates, 2, seed=1) == grids[:2]


def test_a_model_without_classes_is_refused_in_words():
    import timm

    headless = registry.wrap_model(timm.create_model("test_resnet", num_classes=0), "features", device="cpu")
    with pytest.raises(ValueError, match="features has no classifier head"):
        evaluate(THREE, [headless], ["gradcam"], ["top1"])


def test_a_run_past_its_request_budget_stops_with_its_finished_rows_and_says_why(lite0):
    """Evaluate checks the request between maps and between batches of its curves, like every plugin: at its
    budget it stops within a step, keeps only rows that are whole, and says what cut it."""
    began = time.monotonic()
    with registry.request_scope(4.0):
        result = evaluate("samples", [lite0], ["gradcam"], ["top1", "deletion", "insertion"])
    took = time.monotonic() - began
    assert result.stopped and "CNNLENS_REQUEST_BUDGET" in result.stopped, result.stopped
    assert took < 4.0 + 15, f"{took:.1f} s for a 4 s budget"  # one step past it: a batch pass, at most
    assert len(result.rows) < len(records("samples"))  # not every image
    assert all(isinstance(row["deletion_auc"], float) for row in result.rows)  # no half-scored row


def test_a_run_within_its_budget_is_not_marked_stopped(tiny):
    assert evaluate(THREE, [tiny], ["gradcam"], ["top1"]).stopped is None
