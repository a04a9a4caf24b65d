"""Every bundled sample carries its true ImageNet classes and licence, read from examples/SOURCES.md."""

import hashlib
import re
import shutil

import pytest

from registry.imaging import EXAMPLES, sample_paths, samples

SOURCES = (EXAMPLES / "SOURCES.md").read_text()


def test_every_sample_image_has_a_row_with_a_licence_and_its_classes():
    rows = samples.labelled_samples()
    assert set(rows) == set(sample_paths()), "every image in examples/ needs a row in SOURCES.md, and only those"
    for sample in rows.values():
        assert sample.licence and re.search(
            r"CC0|public domain|CC BY|Apache|MIT|no known copyright restrictions", sample.licence
        ), sample
        assert sample.classes or "no" in sample.classes_text.lower(), f"{sample.file}: classes, or say there are none"
    assert {name for name, sample in rows.items() if not sample.classes} == {
        "astronaut",
        "retina",
        "ihc",
        "starry-night",
    }
    assert rows["clock"].classes == (892, 409) and rows["cat"].classes == (281, 282, 285)


def test_every_class_in_the_table_is_named_as_imagenet_names_it(lite0):
    for sample in samples.labelled_samples().values():
        for index, name in zip(sample.classes, sample.class_names):
            synonyms = [part.strip() for part in lite0.labels[index].split(",")]
            assert name in synonyms, f"{sample.file}: {index} is {lite0.labels[index]!r}, not {name!r}"


def test_the_listed_checksums_are_the_files():
    listed = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", SOURCES, flags=re.M))
    assert set(listed) == {sample.file for sample in samples.labelled_samples().values()}
    for name, digest in listed.items():
        assert hashlib.sha256((EXAMPLES / name).read_bytes()).hexdigest() == digest, name


def test_a_sample_is_recognised_by_its_bytes_not_its_name(tmp_path):
    copy = tmp_path / "upload-1234.png"
    shutil.copy(EXAMPLES / "clock.png", copy)
    assert samples.identify(copy).name == "clock"
    impostor = tmp_path / "cat.png"
    shutil.copy(EXAMPLES / "coffee.png", impostor)
    assert samples.identify(impostor).name == "coffee"
    impostor.write_bytes(impostor.read_bytes() + b"\0")
    assert samples.identify(impostor) is None
    assert samples.identify(None) is None and samples.identify(tmp_path / "missing.png") is None


@pytest.mark.parametrize("stem,right", [("cat", True), ("coffee", True), ("clock", False), ("retina", None)])
def test_the_default_backbone_is_judged_against_the_table(lite0, stem, right):
    sample = samples.labelled_samples()[stem]
    top1 = lite0.predict(sample.path, k=1)[0][0]
    verdict = samples.judge(sample, top1)
    assert verdict.right is right
    sentence = verdict.sentence(lite0.labels[top1])
    assert sample.licence in sentence and str(top1) in sentence
    assert sentence.startswith({True: "✅ Right", False: "❌ Wrong", None: "ℹ️"}[right])
