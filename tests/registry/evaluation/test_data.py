"""Data sources: folders by class, manifests, unlabelled folders and the samples, each wrong input a sentence."""

import json
import os
import shutil

import pytest

from registry.evaluation import NOT_IN_UPLOAD, DataError, LabelError, Record, manifest, records, resolve_labels


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
    assert set(found) == {
        "cat.png",
        "coffee.png",
        "rocket.jpg",
        "camera-gray.png",
        "clock.png",
        "horse.png",
        "street-sign.jpg",
    }
    assert found["cat.png"].label == "281|282|285" and found["coffee.png"].box == (75.0, 65.0, 480.0, 390.0)
    assert all(r.box is not None for r in found.values())


@pytest.fixture
def upload(tmp_path, samples):
    """A client's unpacked zip (cats/cat.png, a folder) beside a server image outside it."""
    root = tmp_path / "upload"
    (root / "cats").mkdir(parents=True)
    shutil.copy(samples["cat"], root / "cats" / "cat.png")
    shutil.copy(samples["coffee"], tmp_path / "server.png")
    os.mkfifo(root / "cats" / "pipe.png")
    return root


@pytest.mark.parametrize(
    "named",
    [
        "/etc/hostname",  # a server file that exists
        "/etc/nonexistent",  # one that does not
        "/etc",  # a folder
        "../server.png",  # an image beside the upload
        "~/x.png",  # "~" is not the server's home
        "~nobody-at-all/x.png",
        "cats",  # a folder inside the upload
        "cats/pipe.png",  # not a regular file
        "cats/missing.png",
        "cats/cat.png\u0000.png",  # a NUL in the name
    ],
)
def test_a_servers_manifest_answers_one_sentence_for_any_path_not_an_image_in_the_upload(upload, named):
    (upload / "list.jsonl").write_text(
        json.dumps({"path": "cats/cat.png", "label": 281}) + "\n" + json.dumps({"path": named}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as refused:
        manifest(upload / "list.jsonl", within=upload)
    assert str(refused.value) == NOT_IN_UPLOAD.format(count=1, name="list.jsonl", lines="2")


def test_a_servers_manifest_takes_the_images_of_the_upload_and_a_local_one_names_what_is_missing(upload, tmp_path):
    (upload / "list.csv").write_text("path,label\ncats/cat.png,281\n../server.png,967\n", encoding="utf-8")
    assert manifest(upload / "list.csv") == [
        Record(str(upload / "cats" / "cat.png"), "281"),
        Record(str(upload / "../server.png"), "967"),
    ]
    (upload / "list.csv").write_text("path,label\ncats/cat.png,281\n", encoding="utf-8")
    assert manifest(upload / "list.csv", within=upload) == [Record(str(upload / "cats" / "cat.png"), "281")]
    (upload / "local.csv").write_text("path\n~nobody-at-all/x.png\n", encoding="utf-8")
    with pytest.raises(DataError, match="1 file\\(s\\) named in local.csv do not exist"):
        manifest(upload / "local.csv")


@pytest.mark.parametrize(
    ("text", "suffix"),
    [
        ("[" * 100_000 + "]" * 100_000, ".json"),
        ('{"path": ' + "[" * 100_000 + "]" * 100_000 + "}", ".jsonl"),
    ],
)
def test_json_nested_deeper_than_the_parser_goes_is_a_sentence(tmp_path, text, suffix):
    (tmp_path / f"deep{suffix}").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="is not JSON"):
        records(tmp_path / f"deep{suffix}")


@pytest.mark.parametrize("box", [[0, 0, "inf", "inf"], [0, 0, 1e400, 5], ["nan", 0, 4, 4]])
def test_a_box_of_infinite_or_undefined_numbers_is_a_sentence(tmp_path, samples, box):
    shutil.copy(samples["cat"], tmp_path)
    (tmp_path / "a.jsonl").write_text(json.dumps({"path": "cat.png", "box": box}), encoding="utf-8")
    with pytest.raises(DataError, match="must be four numbers x0,y0,x1,y1 in image pixels, none infinite"):
        records(tmp_path / "a.jsonl")


def test_a_long_label_or_box_is_quoted_short(tmp_path, samples, lite0):
    with pytest.raises(LabelError) as wrong:
        resolve_labels(["5" * 5_000], lite0)
    assert "(5,000 characters)" in str(wrong.value) and len(str(wrong.value)) < 400
    shutil.copy(samples["cat"], tmp_path)
    (tmp_path / "a.jsonl").write_text(json.dumps({"path": "cat.png", "box": "9" * 5_000}), encoding="utf-8")
    with pytest.raises(DataError) as wrong:
        records(tmp_path / "a.jsonl")
    assert "(5,000 characters)" in str(wrong.value) and len(str(wrong.value)) < 300


def test_a_repeated_record_is_read_once_and_two_boxes_for_one_label_are_refused(tmp_path, samples):
    """A row is one image and label: 700 copies of two rows are two rows (computed once), not 700 maps."""
    shutil.copy(samples["cat"], tmp_path)
    shutil.copy(samples["coffee"], tmp_path)
    (tmp_path / "a.csv").write_text("path,label\n" + "cat.png,281\ncoffee.png,967\n" * 350, encoding="utf-8")
    assert records(tmp_path / "a.csv") == [
        Record(str(tmp_path / "cat.png"), "281"),
        Record(str(tmp_path / "coffee.png"), "967"),
    ]
    (tmp_path / "b.csv").write_text('path,label,box\ncat.png,281,"1,1,9,9"\ncat.png,281,"2,2,9,9"\n', encoding="utf-8")
    with pytest.raises(DataError, match="gives 'cat.png' two boxes or masks for the label '281'"):
        records(tmp_path / "b.csv")
