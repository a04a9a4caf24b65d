"""The wrong case that "correct vs incorrect" shows (Compare's preset, Learn's step 5), and each backbone's own
top-1 beside the true class, on real weights."""

import timm

import registry
from registry.analysis import find_wrong_case
from registry.analysis._figures import FIGURE_LABEL_WIDTH, _fitted, _row_label
from registry.imaging import render, samples
from testkit.own_models import NAMES, three_class_state

LITES = ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]


def test_a_right_image_leads_to_a_sample_the_backbone_gets_wrong(lite0, samples):
    case = find_wrong_case(lite0, samples["cat"])  # lite0 gets the cat right: the clock is its first mistake
    assert not case.runner_up and case.sample.name == "clock" and case.image == samples["clock"]
    assert case.predicted[0] not in case.sample.classes and case.true in case.sample.classes and case.rank > 1
    assert f"{case.true} " in case.sentence and "clock.png" in case.sentence
    own = find_wrong_case(lite0, samples["horse"])  # a wrong sample on screen is the case itself
    assert own.sample.name == "horse" and own.predicted[0] != 339


def test_a_model_without_labelled_samples_gets_the_runner_up_said_as_such(samples):
    """A model of one's own (three real ImageNet rows as its head): no sample is labelled with its classes."""
    model = timm.create_model("tf_efficientnet_lite0", num_classes=3)
    model.load_state_dict(three_class_state())
    three = registry.wrap_model(model.eval(), "three", labels=list(NAMES), mean=(0.5,) * 3, std=(0.5,) * 3)
    case = find_wrong_case(three, samples["cat"])
    ranking = three.predict(samples["cat"], k=2)
    assert case.runner_up and case.rank == 2 and (case.predicted[0], case.true) == (ranking[0][0], ranking[1][0])
    assert "runner-up" in case.sentence
    assert find_wrong_case(three, samples["cat"], runner_up=False) is None


def test_each_backbone_row_shows_its_own_top1_beside_the_true_class(samples):
    """Three backbones on the clock: the 'predicted' row is each one's own answer (lite2 even gets it right), the
    true-class row the same class for all; each label says which is which."""
    clock = samples["clock"]
    comparison = registry.compare(clock, backbones=LITES, plugins=["gradcam"], targets=[None, 892])
    own = {}
    for name in LITES:
        top1 = registry.load_backbone(name).predict(clock, k=1)[0][0]
        predicted = comparison.cell(name, "gradcam", None).result
        assert predicted.target == top1
        own[name] = top1
        assert comparison.cell(name, "gradcam", 892).result.target == 892
        labels = [_row_label(row, comparison) for row in comparison.rows if row.backbone == name]
        assert "class: its own top-1" in labels[0] and "class: 892 wall clock" in labels[1]
    assert len(set(own.values())) == 3, own  # three different answers, none of them hidden behind class 892
    assert own["tf_efficientnet_lite2"] in samples_classes("clock")


def test_a_long_backbone_name_is_wrapped_inside_the_label_column():
    font = render.load_font(13)
    label = _fitted("tf_efficientnet_lite0 (three.safetensors)\ntop-1: espresso (0.93)", font, FIGURE_LABEL_WIDTH - 8)
    assert len(label.splitlines()) >= 3
    assert all(font.getlength(line) <= FIGURE_LABEL_WIDTH - 8 for line in label.splitlines())


def samples_classes(stem: str) -> tuple[int, ...]:
    return samples.labelled_samples()[stem].classes
