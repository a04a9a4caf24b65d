"""engine="ray" on a local cluster gives the local engine's rows, row for row."""

import pytest

from registry.evaluation import EvaluationEngine, EvaluationProtocol, evaluate, records

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    started = not ray.is_initialized()
    from registry.evaluation._ray import connect

    connect()
    yield
    if started:
        ray.shutdown()


def test_ray_rows_equal_local_rows(cluster, tiny):
    """One actor (a 2-core machine runs one worker at a time anyway). Every metric is asked for; the random model
    classifies no sample right, so no grid forms (grids are checked on real weights, locally)."""
    protocol = EvaluationProtocol(steps=2, seeds=1, min_confidence=0.0)
    metrics = ["top1", "top5", "pointing_game", "energy", "deletion", "insertion", "grid_pointing_game"]
    data = records("samples")[:4]
    local = evaluate(
        data, [tiny], ["gradcam", "saliency"], metrics, protocol=protocol, engine=EvaluationEngine(batch_size=2)
    )
    remote = evaluate(
        data, ["test_resnet"], ["gradcam", "saliency"], metrics, protocol=protocol, weights="random",
        engine=EvaluationEngine("ray", batch_size=2, concurrency=1),
    )  # fmt: skip
    assert len(remote.rows) == len(local.rows) == 8
    for mine, theirs in zip(local.rows, remote.rows):
        assert mine.keys() == theirs.keys()
        for key, value in mine.items():
            if isinstance(value, float):
                assert theirs[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
            else:
                assert theirs[key] == value, key


def test_ray_refuses_a_loaded_backbone_in_words(cluster, tiny):
    with pytest.raises(ValueError, match="The Ray engine loads each backbone by name"):
        evaluate("samples", [tiny], ["gradcam"], ["energy"], engine="ray")


def test_strategies_on_ray_equal_the_local_ones(cluster, tiny, tmp_path):
    """registry.strategies over Evaluate's Ray engine (each worker loads the model by name): the same maps, so the
    same strategies, image for image, as on the local engine."""
    import numpy as np

    from registry import strategies
    from testkit import shortcut

    rng = np.random.default_rng(0)
    for number in range(12):
        shortcut.crop(shortcut.NAMES[number % len(shortcut.NAMES)], rng).save(tmp_path / f"{number:02d}.png")
    local = strategies(str(tmp_path), tiny, target=None, clusters=2)
    remote = strategies(
        str(tmp_path), "test_resnet", target=None, clusters=2, weights="random",
        engine=EvaluationEngine("ray", batch_size=4, concurrency=1),
    )  # fmt: skip
    assert remote.target == local.target and len(remote.rows) == len(local.rows) == 12
    assert [(row["image"], row["strategy"]) for row in remote.rows] == [
        (row["image"], row["strategy"]) for row in local.rows
    ]
