"""Data sources: folders by class, manifests, unlabelled folders and the samples, each wrong input a sentence."""

import json
import shutil

import pytest

from registry.evaluation import DataError, LabelError, Record, records, resolve_labels


@pytest.fixture
def by_class(tmp_path, samples):
    for folder, stem in (("tabby", "cat"), ("967", "coffee"), ("n04485082", "camera-gray"), ("analog_clock", "clock")):
        (tmp_path / folder).mkdir()
        shutil.copy(samples[stem], tmp_path / folder / samples[stem].name)
    return tmp_path


def test_a_folder_by_class_matches_names_numbers_and_wordnet_ids(by_class, lite0):
    found = records(by_class)
    assert [(r.label, r.box, r.mask) for r in found] == [
        ("967", None, None),
        ("analog_clock", None, None),
        ("n04485082", None, None),
        ("tabby", None, None),
    ]
    assert resolve_labels([r.label for r in found], lite0) == {
        "967": (967,),
        "analog_clock": (409,),
        "n04485082": (872,),  # tripod
        "tabby": (281,),
    }


def test_unmatched_class_names_are_one_sentence(by_class, lite0):
    (by_class / "tabby").rename(by_class / "tabbby")
    (by_class / "unicorn").mkdir()
    shutil.copy(by_class / "967" / "coffee.png", by_class / "unicorn" / "x.png")
    with pytest.raises(LabelError) as caught:
        resolve_labels([r.label for r in records(by_class)], lite0)
    message = str(caught.value)
    assert message.startswith("2 class name(s) in the data match none of tf_efficientnet_lite0's classes")
    assert "'tabbby'" in message and "281: tabby, tabby cat" in message and "'unicorn'" in message
    assert "Traceback" not in message


def test_a_folder_of_loose_images_is_unlabelled(tmp_path, samples):
    for stem in ("cat", "rocket"):
        shutil.copy(samples[stem], tmp_path)
    assert records(tmp_path) == [Record(str(tmp_path / "cat.png")), Record(str(tmp_path / "rocket.jpg"))]
    (tmp_path / "cats").mkdir()
    shutil.copy(samples["cat"], tmp_path / "cats")
    with pytest.raises(DataError, match="both loose"):
        records(tmp_path)


def test_csv_and_json_lines_manifests(tmp_path, samples):
    shutil.copy(samples["cat"], tmp_path)
    (tmp_path / "mask.png").write_bytes(samples["cat"].read_bytes())
    (tmp_path / "a.csv").write_text(
        'path,label,box,mask\ncat.png,281,"10,20,30,40",\ncat.png,tabby,,mask.png\n\ncat.png,,,\n', encoding="utf-8"
    )
    found = records(tmp_path / "a.csv")
    assert found == [
        Record(str(tmp_path / "cat.png"), "281", (10.0, 20.0, 30.0, 40.0)),
        Record(str(tmp_path / "cat.png"), "tabby", None, str(tmp_path / "mask.png")),
        Record(str(tmp_path / "cat.png")),
    ]
    (tmp_path / "b.csv").write_text("path,label,x0,y0,x1,y1\ncat.png,281,10,20,30,40\n", encoding="utf-8")
    assert records(tmp_path / "b.csv")[0].box == (10.0, 20.0, 30.0, 40.0)
    lines = [{"path": "cat.png", "label": 281, "box": [1, 2, 3, 4]}, {"path": str(samples["coffee"])}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    (tmp_path / "d.json").write_text(json.dumps(lines, indent=2), encoding="utf-8")
    assert records(tmp_path / "d.json") == records(tmp_path / "c.jsonl")
    assert records(tmp_path / "c.jsonl") == [
        Record(str(tmp_path / "cat.png"), "281", (1.0, 2.0, 3.0, 4.0)),
        Record(str(samples["coffee"])),
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("path,label\nnowhere.png,3\n", "1 file(s) named in a.csv do not exist: '"),
        ("label\n3\n", "needs a header line naming a 'path' column"),
        ('path,box\ncat.png,"1,2,3"\n', "The box on line 2 of a.csv must be four numbers"),
        ('path,box\ncat.png,"30,2,10,4"\n', "must have x0 < x1 and y0 < y1"),
        ("path,label\n", "lists no images"),
    ],
)
def test_bad_manifests_say_what_to_change(tmp_path, samples, text, words):
    shutil.copy(samples["cat"], tmp_path)
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        records(tmp_path / "a.csv")
    assert words in str(caught.value)


def test_other_inputs(tmp_path, samples):
    with pytest.raises(DataError, match="There is no folder or file called"):
        records(tmp_path / "missing")
    (tmp_path / "bad.jsonl").write_text("{not json}\n", encoding="utf-8")
    with pytest.raises(DataError, match="Line 1 of bad.jsonl is not JSON"):
        records(tmp_path / "bad.jsonl")
    assert records([samples["cat"], (samples["coffee"], 967, "1,2,3,4")]) == [
        Record(str(samples["cat"])),
        Record(str(samples["coffee"]), "967", (1.0, 2.0, 3.0, 4.0)),
    ]


def test_the_samples_carry_their_classes_and_boxes():
    found = {r.path.rsplit("/", 1)[-1]: r for r in records("samples")}
    assert set(found) == {"cat.png", "coffee.png", "rocket.jpg", "camera-gray.png", "clock.png", "horse.png"}
    assert found["cat.png"].label == "281|282|285" and found["coffee.png"].box == (75.0, 65.0, 480.0, 390.0)
    assert all(r.box is not None for r in found.values())
