"""The concept test (TCAV): captum's `TCAV` on the same sets gives the same scores, the significance logic holds on
numbers built for it, a concept of random textures is not significant on the default backbone, and bad input is
refused in words."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

from registry.audit import concept_test
from registry.audit._cavs import CAV_SETTINGS, LayerSpace
from registry.audit._concepts import _rows, corrected, significance
from registry.audit._sets import ImageSet, random_sets
from registry.evaluation import DataError
from testkit.captum_tcav import captum_scores, stripes


@pytest.fixture(scope="module")
def crops(samples):
    """Four sets of ten random crops of the bundled samples (one reference set, three to compare against)."""
    return random_sets(4, 10, [str(path) for path in samples.values()], seed=7)


def test_scores_equal_captums_tcav_on_the_same_sets(tiny, samples, crops, tmp_path):
    """captum's TCAV, given the same sets, layers and the same CAV classifier (its default's SGD settings and seed,
    fitted on every example as concept_test fits them), gives the same score for every concept and random set."""
    target, layers = 3, ["layer2", "layer4"]
    concepts = {"stripes": stripes(10, 0), "wide stripes": stripes(10, 1, period=40)}
    images = [str(path) for path in samples.values()]
    randoms = [s.items for s in crops]
    result = concept_test(tiny, target, concepts, images, layers=layers, random=randoms, cache=tmp_path / "cache")
    scores, baseline = captum_scores(tiny, layers, concepts, randoms, images, target, tmp_path / "captum")
    for layer in layers:
        assert np.allclose(result.random_scores[layer], baseline[layer], atol=1e-6)
        for concept in concepts:
            assert np.allclose(result.scores[(concept, layer)], scores[(concept, layer)], atol=1e-6), (concept, layer)
    assert len(result.rows) == 4 and {row["random_sets"] for row in result.rows} == {len(crops) - 1}
    assert any("Kim et al. ask at least 10" in note for note in result.notes)
    again = concept_test(tiny, target, concepts, images, layers=layers, random=randoms, cache=tmp_path / "cache")
    assert again.rows == result.rows  # read from the cache: the same numbers
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2 * (2 + len(crops) + 1)  # per layer: every set, class


def test_the_span_fit_equals_the_fit_on_every_number():
    """The CAV fitted on the examples' coordinates in their span gives the same derivatives as sklearn's fit on the
    raw D numbers (the same seed and order)."""
    from sklearn.linear_model import SGDClassifier

    rng = np.random.default_rng(0)
    positive, negative = rng.normal(1, 1, (20, 3000)), rng.normal(0.9, 1, (25, 3000))
    gradients = rng.normal(0, 1, (15, 3000))
    labels = np.r_[np.ones(20), np.zeros(25)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = SGDClassifier(**CAV_SETTINGS, random_state=0).fit(np.concatenate([positive, negative]), labels)
    span = LayerSpace([positive.astype(np.float32), negative.astype(np.float32)], gradients.astype(np.float32))
    assert np.allclose(span.derivatives(0, 1), gradients.astype(np.float32) @ raw.coef_[0], atol=1e-4, rtol=1e-4)


def test_significance_on_constructed_scores():
    chance = [0.45, 0.55, 0.5, 0.4, 0.6, 0.5, 0.45, 0.55, 0.5, 0.5]
    assert significance([0.9, 0.95, 0.85, 0.9, 1.0, 0.9, 0.95, 0.85, 0.9, 0.9], chance) < 1e-6
    assert significance([0.05, 0.1, 0.0, 0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.05], chance) < 1e-6  # two-sided
    assert significance([0.5, 0.45, 0.55, 0.5, 0.4, 0.6, 0.5, 0.5, 0.45, 0.55], chance) > 0.9
    assert significance([0.0] * 10, [0.0] * 10) == 1.0  # nothing tells them apart: not a finding
    assert corrected([0.01, 0.02, 0.5]) == pytest.approx([0.03, 0.06, 1.0])
    named = [ImageSet("stripes", [None] * 12, "a"), ImageSet("dots", [None] * 12, "b")]
    scores = {("stripes", "l"): np.array([0.9, 0.95, 0.85]), ("dots", "l"): np.array([0.6, 0.4, 0.7])}
    rows = _rows(named, ["l"], scores, {"l": np.array([0.5, 0.45, 0.55])}, 0.05, 3)
    stripes, dots = rows
    assert stripes["significant"] and stripes["p_adjusted"] == pytest.approx(2 * stripes["p_value"])
    assert not dots["significant"] and dots["random_sets"] == 3
    # Each test alone at 0.04 would pass 0.05; the two corrected together do not.
    twice = _rows(named, ["l"], scores, {"l": np.array([0.5, 0.45, 0.55])}, 0.05, 3)
    assert [row["p_adjusted"] for row in twice] == corrected([row["p_value"] for row in twice])


def test_random_textures_are_not_a_significant_concept(lite0, samples, tmp_path):
    """Crops of natural images, drawn as the random sets are but with another seed, are no concept: on the default
    backbone's real weights no layer calls them significant for the tabby class."""
    cat = Image.open(samples["cat"]).convert("RGB")
    views = [cat.crop((int(cat.width * f), int(cat.height * f), int(cat.width * (1 - f)), int(cat.height * (1 - f))))
             for f in (0.0, 0.05, 0.1, 0.15)]  # fmt: skip
    views += [view.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for view in views]
    textures = random_sets(1, 10, [str(path) for path in samples.values()], seed=99)[0].items
    result = concept_test(
        lite0, "tabby", {"textures": textures}, views, layers=["blocks.4", "bn2"], random_size=10, cache=False
    )
    assert [row["significant"] for row in result.rows] == [False, False], result.rows
    assert all("not significant" in said for said in result.verdicts())
    assert result.figure.size[0] > 300


def test_bad_input_is_refused_in_words(tiny, samples, tmp_path):
    images = [str(path) for path in samples.values()]
    with pytest.raises(DataError, match="at least one concept"):
        concept_test(tiny, 3, {}, images)
    with pytest.raises(DataError, match="'dots' holds 3 image.*at least 10"):
        concept_test(tiny, 3, {"dots": stripes(3, 0)}, images)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="'empty' holds no images"):
        concept_test(tiny, 3, {"empty": tmp_path / "empty"}, images)
    with pytest.raises(DataError, match="there is no folder or zip called 'nowhere'"):
        concept_test(tiny, 3, {"gone": tmp_path / "nowhere"}, images)
    with pytest.raises(DataError, match="2 random set.*at least 3"):
        concept_test(tiny, 3, {"stripes": stripes(10, 0)}, images, random=[stripes(10, 1), stripes(10, 2)])
    with pytest.raises(DataError, match="at least 2 random sets"):
        concept_test(tiny, 3, {"stripes": stripes(10, 0)}, images, random_sets=1)
    with pytest.raises(DataError, match="is not one class"):
        concept_test(tiny, "no such class at all", {"stripes": stripes(10, 0)}, images)
    with pytest.raises(DataError, match="holds 2 image.*at least 5"):
        concept_test(tiny, 3, {"stripes": stripes(10, 0)}, images[:2])
    archive = tmp_path / "stripes.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for number, picture in enumerate(stripes(10, 3)):
            picture.save(tmp_path / "one.png")
            zipped.write(tmp_path / "one.png", f"stripes/{number}.png")
        zipped.writestr("../escape.png", b"x")
        zipped.writestr("notes.txt", "hello")
    result = concept_test(tiny, 3, {"stripes": archive}, images, layers=["layer4"], random_sets=2, random_size=10)
    assert result.rows[0]["concept_images"] == 10 and not (tmp_path.parent / "escape.png").exists()
    assert any("outside the zip refused" in note for note in result.notes)
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="The set 'broken': The file is not a zip"):
        concept_test(tiny, 3, {"broken": tmp_path / "broken.zip"}, images)
