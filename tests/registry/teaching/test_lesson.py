"""The Learn tab's computations, without the UI: the stages table, the first layer, layer by layer,
Grad-CAM for two classes, and a sample the model gets wrong, each with its computed sentence."""

import re

import numpy as np
import pytest
import torch
from torch import nn

import registry
from registry.imaging import samples
from registry.teaching import _describe as heat
from registry.teaching import filters, lesson


@pytest.fixture(scope="module")
def resnet18():
    return registry.load_backbone("resnet18", device="cpu", weights=registry.RANDOM)  # structure only: no download


@pytest.mark.parametrize("name", ["lite0", "resnet18"])
def test_stages_table_is_built_from_the_backbone(name, request):
    backbone = request.getfixturevalue(name)
    rows = lesson.network_stages(backbone)
    assert rows[0].name == "input" and rows[-1].name == "classifier" and rows[-1].channels == backbone.num_classes
    inner = rows[1:-1]
    stages = [row for row in inner if row.name.startswith("stage")]
    expected = [layer for layer in backbone.layers if layer.stage is not None]
    assert [row.module for row in stages] == [layer.name for layer in expected]
    for row, layer in zip(stages, expected):
        assert (row.resolution, row.channels, row.depth) == (
            f"{layer.height}×{layer.width}",
            layer.channels,
            layer.depth_name,
        )
    sides = [int(row.resolution.split("×")[0]) for row in inner]
    assert sides == sorted(sides, reverse=True) and inner[-1].depth == "final" and inner[0].depth == "early"
    convolutions = sum(isinstance(m, nn.Conv2d) for m in backbone.model.modules())
    assert sum(row.convolutions for row in inner) == convolutions  # every convolution counted once, in its stage
    sentence = lesson.stages_sentence(backbone, rows)
    assert f"runs {convolutions} convolutions" in sentence and f"to {inner[-1].resolution}" in sentence
    assert f"`{stages[0].module}`" in lesson.stages_markdown(rows)


def test_first_layer_picture_is_the_first_convolutions_weights(lite0, samples):
    result = filters.first_layer(lite0, samples["cat"])
    conv = dict(lite0.model.named_modules())[result.layer]
    assert result.layer == "conv_stem" and conv.in_channels == 3
    weights = conv.weight.detach().numpy()  # (32, 3, 3, 3)
    count, _, k, _ = weights.shape
    bank = np.asarray(result.bank)
    block = filters.PATCH // k
    columns = min(16, count)
    for index in range(count):  # every filter, every weight: the centre of its block in the picture
        peak = np.abs(weights[index]).max()
        left, top = 4 + (index % columns) * (filters.PATCH + 4), 4 + (index // columns) * (filters.PATCH + 4)
        for row in range(k):
            for column in range(k):
                pixel = bank[top + row * block + block // 2, left + column * block + block // 2].astype(int)
                expected = np.rint(255 * (0.5 + 0.5 * weights[index, :, row, column] / peak)).astype(int)
                assert np.abs(pixel - expected).max() <= 1, (index, row, column, pixel, expected)
    x, _ = lite0.prepare(samples["cat"])
    with torch.no_grad():
        response = conv(x)[0].numpy()  # the maps shown beside the filters are those filters' own outputs
    assert np.allclose(result.response, response, atol=1e-5)
    most = int(np.argmax(np.clip(response, 0, None).mean(axis=(1, 2))))
    assert result.shown[0] == most and result.sentence.startswith(f"Filter {most} of `conv_stem` is the most active")
    assert filters.describe_filter(weights[most]) in result.sentence


def test_filter_descriptions_follow_the_weights():
    vertical = np.tile(np.array([[1.0, 0.0, -1.0]] * 3), (3, 1, 1))
    assert filters.describe_filter(vertical) == "a vertical-edge detector"
    assert filters.describe_filter(vertical.transpose(0, 2, 1)) == "a horizontal-edge detector"
    red_blue = np.stack([np.ones((3, 3)), np.zeros((3, 3)), -np.ones((3, 3))])
    assert filters.describe_filter(red_blue) == "a colour detector (red against blue)"
    assert filters.describe_filter(np.ones((3, 3, 3))) == "a brightness detector (light areas)"
    assert filters.describe_filter(-np.ones((3, 7, 7))) == "a darkness detector (dark areas)"


def test_heat_words_and_numbers():
    corner = np.zeros((90, 90))
    corner[5:25, 60:85] = 1.0
    assert heat.place(corner) == "the top right" and heat.share(heat.hot_mask(corner)) == pytest.approx(500 / 8100)
    assert heat.place(np.pad(np.ones((10, 10)), 40)) == "the centre"
    assert heat.overlap(corner, corner) == 1.0 and heat.overlap(corner, corner[::-1]) == 0.0
    assert heat.concentration(np.ones((4, 10, 10))) == 0.5
    spike = np.zeros((10, 10))
    spike[3, 3] = 5.0
    assert heat.concentration(spike) == 0.01


def test_layer_by_layer_shows_three_depths_and_says_how_spread_they_are(lite0, samples):
    step = lesson.layer_by_layer(lite0, samples["coffee"])
    depths = [
        step.comparison.cell(lite0.name, "feature_maps", None, depth).result.layer.depth_name
        for depth in ("early", "middle", "final")
    ]
    assert depths == ["early", "middle", "final"] and step.picture.size[1] > 600
    for value in step.numbers["concentration"].values():
        assert 0 < value <= 0.5 and f"{heat.percent(value)} of the positions" in step.sentence
    assert all(f"`{name}`" in step.sentence for name in step.numbers["layers"].values())


def test_channel_pictures_show_each_stage_and_measure_what_the_textbook_says(lite0, samples):
    settings = registry.FeatureVisSettings(steps=16, size=64)  # structure and numbers; fidelity: test_feature_vis
    step = lesson.channel_pictures(lite0, samples["horse"], settings=settings)
    layers, field, breadth = step.numbers["layers"], step.numbers["field"], step.numbers["breadth"]
    assert list(layers) == ["early", "middle", "final"] and step.picture.size == (4 * 164 + 4, 3 * 164 + 4)
    assert field["early"] < field["middle"] < field["final"] == 224  # a final unit sees the whole input
    for depth, name in layers.items():
        peaks = registry.analysis.image_activations(
            lite0, name, range(lite0.layer_info(name).channels), registry.imaging.sample_paths(), statistic="peak"
        )
        best = peaks.max(0)
        assert breadth[depth] == np.median((peaks[:, best > 0] >= 0.5 * best[best > 0]).sum(0))  # as defined
        on_image = registry.analysis.layer_activations(lite0, name, lite0.prepare(samples["horse"])[0])[0]
        assert step.numbers["channels"][depth] == on_image.flatten(1).mean(1).argsort(descending=True)[:2].tolist()
        assert f"`{name}`" in step.sentence
    assert breadth["final"] < breadth["early"]  # lite0's final channels answer fewer samples than its early ones
    assert f"{breadth['early']:g}, {breadth['middle']:g} and {breadth['final']:g} of the 11 samples" in step.sentence
    assert "the whole 224-pixel image" in step.sentence and "a 16-pixel square" in step.sentence


@pytest.mark.parametrize(
    ("breadth", "words"),
    [
        ((7, 4, 2), "as the textbook says"),
        ((7, 7, 2), "become particular only at the end"),
        ((3, 4, 5), "does not show"),
    ],
)
def test_channel_sentence_says_where_the_network_departs_from_the_textbook(lite0, breadth, words):
    fields = {"early": 16, "middle": 60, "final": 224}
    sentence = lesson._channels_sentence(lite0, ["a", "b", "c"], fields, dict(zip(registry.methods.DEPTHS, breadth)), 8)
    assert words in sentence and f"{breadth[0]}, {breadth[1]} and {breadth[2]} of the 8 samples" in sentence


def test_class_evidence_compares_the_prediction_with_the_picked_class(lite0, samples):
    step = lesson.class_evidence(lite0, samples["cat"], picked=281)
    assert step.numbers["targets"] == [282, 281]
    assert "282 tiger cat" in step.sentence and "281 tabby, tabby cat" in step.sentence
    assert f"overlap by {heat.percent(step.numbers['overlap'])}" in step.sentence
    runner_up = lesson.class_evidence(lite0, samples["cat"])
    assert runner_up.numbers["targets"] == [282, 285]  # nothing picked: the runner-up


def test_mistake_finds_a_sample_the_model_gets_wrong(lite0):
    found = lesson.find_mistake(lite0)
    assert found is not None and not found.runner_up
    sample = found.sample
    assert sample.classes and found.predicted[0] not in sample.classes  # wrong, whichever sample it is
    assert found.true in sample.classes and found.rank > 1
    wrong = [
        s
        for s in samples.labelled_samples().values()
        if s.classes and lite0.predict(s.path, k=1)[0][0] not in s.classes
    ]
    assert sample == wrong[0]
    chosen = lesson.find_mistake(lite0, wrong[-1].path)  # the image on screen, when it is a wrong sample itself
    assert chosen.sample == wrong[-1]
    assert lesson.find_mistake(lite0, chosen=wrong[-1].name).sample == wrong[-1]  # chosen from step 5's list
    with pytest.raises(ValueError, match="gets coffee.png right"):
        lesson.find_mistake(lite0, chosen="coffee")
    step = lesson.mistake(lite0, wrong[-1].path)
    assert (
        step.numbers["true"] in wrong[-1].classes
        and step.numbers["predicted"] == lite0.predict(wrong[-1].path, k=1)[0][0]
    )
    assert re.search(r"the truth is \d+ .*ranked \d+", step.sentence) and wrong[-1].file in step.sentence
