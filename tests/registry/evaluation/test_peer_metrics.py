"""The peers' faithfulness metrics against the peers themselves, on the same maps and images: pytorch-grad-cam 1.5.7's
metric classes (ROAD most / least relevant first and combined, the image-times-map confidence change, ARCC and its
complexity and coherency) and Quantus 0.6's noisy linear imputation, as test-only oracles. Same imputation, same seed:
the numbers agree to float precision. A 40-pixel view of timm's test_resnet (5 classes, seeded random weights) keeps
every imputation to milliseconds."""

import numpy as np
import pytest
import timm
import torch

import registry
from registry.evaluation import EvaluationEngine, evaluate
from registry.evaluation._metrics import average_drop, noisy_linear_imputation, road_kept, unit_map
from registry.evaluation._peers import PEER_COLUMNS, PEER_METRICS, ROAD_SEED, peer_metrics, score_map, view_map
from registry.methods._runner import Job, compute_jobs

metrics = pytest.importorskip("pytorch_grad_cam.metrics")
quantus = pytest.importorskip("quantus")
from pytorch_grad_cam.metrics.arcc import ARCC, Coherency, Complexity  # noqa: E402
from pytorch_grad_cam.metrics.cam_mult_image import (  # noqa: E402
    CamMultImageConfidenceChange,
    DropInConfidence,
    IncreaseInConfidence,
)
from pytorch_grad_cam.metrics.road import (  # noqa: E402
    NoisyLinearImputer,
    ROADCombined,
    ROADLeastRelevantFirst,
    ROADLeastRelevantFirstAverage,
    ROADMostRelevantFirst,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget  # noqa: E402

SIDE = 40
TOLERANCE = dict(rel=1e-4, abs=1e-6)


@pytest.fixture(scope="module")
def small() -> registry.Backbone:
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", num_classes=5)
    return registry.wrap_model(model, "small_test_resnet", input_size=(SIDE, SIDE), device="cpu", untrained=True)


@pytest.fixture(scope="module")
def cases(small, samples):
    """(x, target, our Grad-CAM map at the view's size) for two images, each explained for its prediction."""
    found = []
    for name in ("cat", "coffee"):
        x, _ = small.prepare(samples[name])
        target = int(small.probabilities(x).argmax())
        raw = registry.get_plugin("gradcam").run(small, samples[name], target=target).raw
        found.append((x, target, view_map(raw, (SIDE, SIDE), signed=False)))
    return found


def _confidences(backbone, target):
    def run(images, count):
        with torch.no_grad():
            return backbone.activate(backbone.model(torch.stack(list(images))))[:, target].numpy()

    return run


def _redraw(backbone, target, view):
    """Our Grad-CAM of any input tensor at the view's size: the base method ARCC's coherency draws again."""

    def draw(x):
        job = Job(registry.get_plugin("gradcam"), target)
        compute_jobs(backbone, x.detach(), view, [job])
        return view_map(job.raw, (SIDE, SIDE), signed=False)

    return draw


@pytest.mark.parametrize("percentile", [10, 50, 90])
def test_imputation_equals_grad_cam_and_quantus(percentile):
    rng = np.random.default_rng(percentile)
    image = torch.tensor(rng.normal(size=(3, SIDE, SIDE)), dtype=torch.float32)
    kept = road_kept(rng.random((SIDE, SIDE)), percentile, most_relevant_first=True)
    torch.manual_seed(7)
    theirs = NoisyLinearImputer()(image, torch.from_numpy(kept.astype(np.float32)))
    ours = noisy_linear_imputation(image, kept, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(ours, theirs, atol=1e-6) and not torch.equal(ours, image)
    removed = np.flatnonzero(~kept.ravel())
    quiet = quantus.functions.perturb_func.noisy_linear_imputation(image.numpy(), removed, noise=0.0)
    assert np.allclose(noisy_linear_imputation(image, kept, noise=0.0).numpy(), quiet, atol=1e-5)


@pytest.mark.parametrize("percentile", [20, 70])
def test_road_at_one_percentile_equals_grad_cam(small, cases, percentile):
    x, target, heatmap = cases[0]
    unit = unit_map(heatmap)
    full = float(small.probabilities(x)[target])
    run = _confidences(small, target)
    for oracle, most in ((ROADMostRelevantFirst, True), (ROADLeastRelevantFirst, False)):
        torch.manual_seed(3)
        theirs = oracle(percentile)(x, unit[None], [ClassifierOutputSoftmaxTarget(target)], small.model)[0]
        imputed = noisy_linear_imputation(
            x[0], road_kept(unit, percentile, most), generator=torch.Generator().manual_seed(3)
        )
        assert float(run([imputed], 1)[0]) - full == pytest.approx(float(theirs), **TOLERANCE)


def test_road_combined_and_confidence_change_equal_grad_cam(small, cases):
    for x, target, heatmap in cases[:1]:
        unit, targets = unit_map(heatmap), [ClassifierOutputSoftmaxTarget(target)]
        full = float(small.probabilities(x)[target])
        ours = score_map(x, full, heatmap, PEER_METRICS[:3], _confidences(small, target), redraw=None)
        torch.manual_seed(ROAD_SEED)
        assert ours["road"] == pytest.approx(float(ROADCombined()(x, unit[None], targets, small.model)[0]), **TOLERANCE)
        torch.manual_seed(ROAD_SEED)  # ROADCombined draws its least relevant first noise first, as ours
        lerf = ROADLeastRelevantFirstAverage()(x, unit[None], targets, small.model)[0]
        assert ours["road_lerf"] == pytest.approx(float(lerf), **TOLERANCE)
        change = float(CamMultImageConfidenceChange()(x, unit[None], targets, small.model)[0])
        assert ours["increase_in_confidence"] == bool(IncreaseInConfidence()(x, unit[None], targets, small.model)[0])
        assert ours["increase_in_confidence"] == (change > 0)
        # The paper divides the drop by the confidence on the image; grad-cam's DropInConfidence does not.
        dropped = float(DropInConfidence()(x, unit[None], targets, small.model)[0])
        assert ours["average_drop"] * full == pytest.approx(dropped, **TOLERANCE)
        assert average_drop(full, full + change) == pytest.approx(ours["average_drop"], **TOLERANCE)


def test_arcc_and_its_parts_equal_grad_cam(small, cases, samples):
    x, target, heatmap = cases[1]
    unit, targets = unit_map(heatmap), [ClassifierOutputSoftmaxTarget(target)]
    draw = _redraw(small, target, small.prepare(samples["coffee"])[1])

    def base_method(input_tensor, targets):  # grad-cam's Coherency asks the method for the maps of a batch
        return np.stack([unit_map(draw(one[None])) for one in input_tensor])

    ours = peer_metrics(small, samples["coffee"], "gradcam", target=target, metrics=["arcc"])
    assert ours["complexity"] == pytest.approx(float(Complexity()(unit[None])[0]), **TOLERANCE)
    theirs = Coherency()(x, unit[None], targets, small.model, base_method)[0]
    assert ours["coherency"] == pytest.approx(float(theirs), **TOLERANCE)
    torch.manual_seed(ROAD_SEED)
    assert ours["arcc"] == pytest.approx(float(ARCC(base_method)(x, unit[None], targets, small.model)[0]), **TOLERANCE)
    assert set(ours) >= {"complexity", "coherency", "arcc"} and "road" not in ours


def test_evaluate_rows_carry_the_peer_metrics_equal_to_one_image(small, cases, samples):
    """Rows equal `peer_metrics` of the image alone. One image a batch: ROAD thresholds the map at percentiles, so
    a pixel whose map value differs by a rounding between a batch of two and one image may change sides."""
    paths = [str(samples["cat"]), str(samples["coffee"])]
    result = evaluate(paths, [small], ["gradcam"], ["top1", *PEER_METRICS], engine=EvaluationEngine(batch_size=1))
    assert not result.errors and len(result.rows) == 2
    assert all(
        row[column] is not None for row in result.rows for columns in PEER_COLUMNS.values() for column in columns
    )
    row = result.rows[0]
    alone = peer_metrics(small, paths[0], "gradcam", target=row["target"])
    for columns in PEER_COLUMNS.values():
        for column in columns:
            assert row[column] == pytest.approx(alone[column], **TOLERANCE), column
    summary = {entry["score"] for entry in result.summary}
    assert {"road", "arcc", "average_drop", "increase_in_confidence"} <= summary


def test_unknown_metric_names_are_refused_in_words(small, samples):
    with pytest.raises(ValueError, match=r"No metric called 'roads'; the metrics are .*road, arcc"):
        evaluate([str(samples["cat"])], [small], ["gradcam"], ["roads"])
    with pytest.raises(ValueError, match="No peer metric called 'deletion'"):
        peer_metrics(small, samples["cat"], "gradcam", metrics=["deletion"])
