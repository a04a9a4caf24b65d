"""The model randomization check on the real default backbone: maps that explain the model fall apart."""

import threading

import numpy as np
import pytest
import torch

import registry
from registry.analysis import ORIGINAL, cascade

TOP = 3  # classifier, head and the last stage: "the top stages" of the paper's finding


@pytest.fixture(scope="module")
def checks(lite0, samples):
    return {name: registry.sanity_check(lite0, samples["cat"], name, parts=TOP) for name in ("gradcam", "saliency")}


def test_cascade_goes_top_down_and_covers_every_weight_once(lite0):
    parts = cascade(lite0.model)
    names = [name for name, _ in parts]
    assert names[:2] == ["classifier", "head (conv_head, bn2)"]
    assert names[2:] == [
        "stage 5 (blocks.6)",
        "stage 4 (blocks.4)",
        "stage 3 (blocks.2)",
        "stage 2 (blocks.1)",
        "stage 1 (blocks.0) + stem",
    ]
    owned = [id(p) for _, modules in parts for module in modules for p in module.parameters(recurse=False)]
    assert sorted(owned) == sorted(id(p) for p in lite0.model.parameters())


def test_gradcam_and_saliency_decorrelate_once_the_top_is_random(checks):
    for name, check in checks.items():
        assert [step.randomized for step in check.steps] == [
            ORIGINAL,
            "classifier",
            "head (conv_head, bn2)",
            "stage 5 (blocks.6)",
        ]
        assert check.steps[0].rank_correlation == 1.0 and check.steps[0].ssim == 1.0
        randomized = [step.rank_correlation for step in check.steps[1:]]
        assert all(rho < 0.6 for rho in randomized), (name, randomized)  # far from the original's 1.0
        assert check.steps[-1].rank_correlation < 0.5 and check.steps[-1].ssim < 0.5, (name, check.as_dict())
    gradcam = checks["gradcam"].steps
    assert gradcam[-1].rank_correlation < gradcam[1].rank_correlation  # Grad-CAM keeps falling as more is randomized


def test_guided_backprop_stays_correlated_above_gradcam(lite0, samples, checks):
    try:
        guided = registry.get_plugin("guided_backprop")
    except KeyError:
        pytest.skip(
            "the guided_backprop plugin (issue 7) is not loaded here; the Grad-CAM and saliency side is asserted above"
        )
    check = registry.sanity_check(lite0, samples["cat"], guided, parts=TOP)
    assert check.steps[-1].rank_correlation > checks["gradcam"].steps[-1].rank_correlation + 0.2, check.as_dict()


def test_check_fixes_class_and_layer_and_draws_a_strip(checks):
    check = checks["gradcam"]
    assert check.target == 282 and check.label == "tiger cat" and check.layer == "bn2"
    assert len(check.heatmaps) == len(check.steps) == TOP + 1
    assert all(step.image.size == (224, 224) for step in check.steps)
    assert check.figure.size[0] == 4 + (TOP + 1) * (160 + 4)
    data = check.as_dict()
    assert [step["randomized"] for step in data["steps"]][0] == ORIGINAL and data["layer"] == "bn2"


def test_cached_backbone_is_untouched_and_serves_concurrent_requests(lite0, samples):
    before = {key: value.clone() for key, value in lite0.model.state_dict().items()}
    gradcam = registry.get_plugin("gradcam")
    alone = gradcam.run(lite0, samples["coffee"]).heatmap
    done = threading.Event()
    failures: list[BaseException] = []

    def check() -> None:
        try:
            registry.sanity_check(lite0, samples["cat"], "gradcam", parts=2)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=check)
    worker.start()
    during = []
    while not done.is_set() or not during:  # at least one map while the check runs
        during.append(gradcam.run(lite0, samples["coffee"]).heatmap)
    worker.join()
    assert not failures, failures
    for heatmap in during:
        np.testing.assert_allclose(heatmap, alone, atol=1e-6)
    after = lite0.model.state_dict()
    assert set(after) == set(before)
    for key, value in before.items():
        assert torch.equal(after[key], value), key


def test_wrong_inputs_are_explained(lite0, samples):
    with pytest.raises(ValueError, match="shows images, not a heatmap"):
        registry.sanity_check(lite0, samples["cat"], "feature_maps")
    with pytest.raises(ValueError, match="no method called 'nope'"):
        registry.sanity_check(lite0, samples["cat"], "nope")
    with pytest.raises(ValueError, match="parts must be a whole number from 1 to 7"):
        registry.sanity_check(lite0, samples["cat"], "gradcam", parts=0)


def test_a_check_stopped_midway_keeps_its_finished_steps_and_says_why(tiny, samples):
    reached = []

    def progress(fraction, words):
        reached.append(words)

    with registry.request_scope(abandoned=lambda: len(reached) >= 2):  # the visitor leaves after one part
        check = registry.sanity_check(tiny, samples["cat"], "gradcam", progress=progress)
    parts = len(cascade(tiny.model))
    assert [step.randomized for step in check.steps][0] == ORIGINAL and len(check.steps) == 2
    assert (
        check.stopped
        == f"stopped after 1 of {parts} randomized parts: its request was cancelled (Stop, or the page was closed)"
    )
    assert check.as_dict()["stopped"] == check.stopped and len(check.heatmaps) == 2
    finished = registry.sanity_check(tiny, samples["cat"], "gradcam")
    assert finished.stopped is None and len(finished.steps) == parts + 1
