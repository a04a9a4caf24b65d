"""The interface builder: controls come from declarations; backbone changes refill the layer lists."""

import gradio as gr
import pytest

import registry
from app import handlers, layer_lists
from app.layer_lists import layer_updates
from app.method_tabs import control_for
from app.ui import build_app
from registry import Param
from tests.conftest import ROOT


def test_controls_follow_the_declared_kind():
    slider = control_for(Param("count", "int", 16, minimum=1, maximum=64, label="Channels shown"))
    assert isinstance(slider, gr.Slider) and (slider.minimum, slider.maximum, slider.value, slider.step) == (
        1,
        64,
        16,
        1,
    )
    assert isinstance(control_for(Param("on", "bool", True)), gr.Checkbox)
    dropdown = control_for(Param("mode", "choice", "b", choices=("a", "b")))
    assert isinstance(dropdown, gr.Dropdown) and dropdown.value == "b"


def test_every_plugin_gets_a_tab_with_its_endpoint():
    demo = build_app()
    tabs = {block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert {plugin.title for plugin in registry.list_plugins()} | {"Plugins"} <= tabs
    endpoints = {fn.api_name for fn in demo.fns.values() if fn.api_name}
    assert {plugin.name for plugin in registry.list_plugins()} | {"predict"} <= endpoints


def test_methods_sit_in_one_tab_per_family_after_learn_and_compare():
    """Twenty tabs in one row hid half of them: the top row is Learn, Compare, Evaluate, Audit, Live, a tab per
    family, Plugins."""
    demo = build_app()
    outer = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "tabs")
    top = [child.label for child in outer.children]
    present = [family for family in registry.FAMILIES if any(p.family == family for p in registry.list_plugins())]
    first = ["Learn", "Compare", "Evaluate", "Audit", "Live"]
    assert top == [*first, *(registry.FAMILIES[family][0] for family in present), "Plugins"]
    assert outer.overflow_behavior == "wrap"  # none hidden behind a "More tabs" menu
    for family_tab in outer.children[len(first) : -1]:
        family = family_tab.elem_id.removeprefix("family-")
        inner = next(child for child in family_tab.children if isinstance(child, gr.Tabs))
        assert [tab.label for tab in inner.children] == [
            p.title for p in registry.list_plugins() if p.family == family
        ], family


def test_a_plugin_naming_an_unknown_family_is_refused_in_words():
    from registry import PluginSpecError

    class Odd(registry.Plugin):
        name, title, description, family = "odd", "Odd", "A test method.", "astrology"

        def compute(self, ctx):
            return ctx.x[0, 0]

    with pytest.raises(PluginSpecError, match="family must be one of representations, cam, gradients"):
        Odd().validate()


def test_changing_backbone_refills_layer_choices_with_its_layers():
    owners = tuple(plugin for plugin in registry.list_plugins() if plugin.needs_layer)
    updates = layer_updates(owners)("tf_efficientnet_lite2", False)
    updates = updates if isinstance(updates, list) else [updates]
    lite2 = registry.load_backbone("tf_efficientnet_lite2")
    for plugin, update in zip(owners, updates):
        assert update["value"] == layer_lists.AUTO_LAYER
        assert update["choices"][0] == (f"auto · {plugin.auto_layer(lite2)}", layer_lists.AUTO_LAYER)
        assert any("33×33" in label for label, _ in update["choices"])  # lite2 sees 260 px, not 224
        assert update["choices"][1] == ("first convolution · early · conv_stem · 32×130×130", "conv_stem")
    failed = layer_updates(owners)("resnet5O", False)
    failed = failed if isinstance(failed, list) else [failed]
    assert all(
        update["choices"] == [(layer_lists.AUTO_LAYER, layer_lists.AUTO_LAYER)] for update in failed
    )  # no stale layers


@pytest.mark.parametrize(
    "choice,expected", [("predicted (top-1)", None), ("", None), (None, None), ("285: Egyptian cat", 285), ("12", 12)]
)
def test_target_choices_parse(choice, expected):
    assert handlers.parse_target(choice) == expected


@pytest.mark.parametrize("choice", ["a tabby please", "²", "٣: tabby", "inf", 3.5, "xyzzy", "tabby " * 100_000])
def test_target_choice_that_is_not_a_class_is_refused(choice, lite0):
    with pytest.raises(gr.Error, match="is not a class: choose one from the list or type its number"):
        handlers.parse_target(choice, lite0.labels)


@pytest.mark.parametrize(
    "typed,expected", [("golden", 207), ("Golden Retriever", 207), ("tabby", 281), ("tigr cat", 282), ("egyptian", 285)]
)
def test_a_name_only_one_class_matches_is_taken_as_that_class(typed, expected, lite0):
    assert handlers.parse_target(typed, lite0.labels) == expected


@pytest.mark.parametrize(
    "typed,offered",
    [("crane", ["134: crane", "517: crane"]), ("retriever", ["207: golden retriever", "208: Labrador retriever"])],
)
def test_a_name_several_classes_match_is_refused_with_the_candidates(typed, offered, lite0):
    with pytest.raises(gr.Error) as caught:
        handlers.parse_target(typed, lite0.labels)
    assert "Did you mean" in caught.value.message and all(option in caught.value.message for option in offered)


def test_target_note_settles_a_typed_name_and_gives_its_probability(lite0):
    cat = str(ROOT / "examples" / "cat.png")
    settled, note = handlers.target_note(cat, lite0.name, False, "golden")
    probabilities = lite0.probabilities(lite0.prepare(cat)[0])
    assert settled == "207: golden retriever"
    assert f"p = {float(probabilities[207]):.3g}" in note and "rank" in note and "the model predicts 282" in note
    _, note = handlers.target_note(cat, lite0.name, False, handlers.PREDICTED)
    assert note.startswith("The maps explain the top prediction") and f"{float(probabilities.max()):.3g}" in note
    unchanged, note = handlers.target_note(cat, lite0.name, False, "crane")
    assert unchanged == gr.update() and "Did you mean 134: crane, 517: crane" in note


def test_a_model_with_no_classifier_head_says_so_beside_the_class_and_over_the_predictions():
    cat, name = str(ROOT / "examples" / "cat.png"), "eva02_tiny_patch14_224"  # headless in timm (MIM weights)
    _, note = handlers.target_note(cat, name, True, handlers.PREDICTED)
    assert "has no classifier head, so there is no class to explain" in note
    assert (
        "No predictions: eva02_tiny_patch14_224 has no classifier head"
        in handlers.predictions_header(name, True)["label"]
    )
    assert handlers.predict(cat, name, True) == {}


def test_controls_check_values_through_their_param_and_keep_the_stock_front_end():
    count = control_for(Param("count", "int", 16, minimum=1, maximum=64, label="Channels shown"))
    assert count.get_block_name() == "slider" and count.preprocess(8.0) == 8
    for value in ("inf", "nan", float("inf"), "²", 65):
        with pytest.raises(gr.Error, match="Channels shown must"):
            count.preprocess(value)
    choice = control_for(Param("mode", "choice", "b", choices=("a", "b")))
    assert choice.get_block_name() == "dropdown"
    with pytest.raises(gr.Error, match="must be one of a, b"):
        choice.preprocess("c")
    assert control_for(Param("on", "bool", True)).preprocess("false") is False


def test_unexpected_errors_show_no_server_paths():
    text = "cannot open '/srv/app/secret/weights.pth': see /usr/lib/python3.11/site.py, ratio 1/2"
    assert handlers.without_paths(text) == "cannot open '…/weights.pth': see …/site.py, ratio 1/2"


def test_nothing_listens_to_the_image_changing():
    """A sample click and then an upload made Gradio 6.31's image fire `change` for ever; the app listens to
    the user's action (`input`) and to the sample click instead (app/ui.py, `image_arrivals`)."""
    demo = build_app()
    image = next(
        block_id for block_id, block in demo.blocks.items() if getattr(block, "elem_id", None) == "input-image"
    )
    listening = [fn.name for fn in demo.fns.values() if (image, "change") in [tuple(t) for t in fn.targets]]
    assert listening == []
    showing = [fn for fn in demo.fns.values() if fn.api_name == "shown_predictions"]  # the panel's copy
    assert [tuple(t) for t in showing[0].targets] == [(image, "input")]


def test_every_result_is_cleared_when_an_input_it_depends_on_changes():
    """The builder's one rule, checked on the event graph: each tab's outputs are emptied by a new image (the
    user's own or a sample), a change of the backbone or weights choice, of the class (tabs that explain one),
    and of its own controls."""
    demo = build_app()
    clearing: dict[int | None, set[int]] = {}  # trigger id (None: after a sample click) → ids of the outputs it empties
    for fn in demo.fns.values():
        if fn.fn is None and fn.js and "null" in fn.js and fn.outputs and not fn.inputs:  # emptied in the browser
            for trigger_block, trigger in fn.targets:
                if trigger in ("change", "input", "then"):
                    clearing.setdefault(trigger_block, set()).update(id(o) for o in fn.outputs)
    by_label = {}
    for block_id, block in demo.blocks.items():
        by_label.setdefault(getattr(block, "label", None), []).append((block_id, block))
    image, backbone, weights, target = (
        by_label[label][0][0] for label in ("Image", "Backbone", "Allow untrained weights", "Target class")
    )
    runs = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    for plugin in registry.list_plugins():
        outputs = runs[plugin.name].outputs  # map, gallery, info, json, raw map, overlay: nothing of a run stays behind
        assert len(outputs) == 6
        for result in outputs:
            for trigger in (image, None, backbone, weights) + ((target,) if plugin.needs_target else ()):
                assert id(result) in clearing.get(trigger, set()), (plugin.name, result.label, trigger)
            if not plugin.needs_target:
                assert id(result) not in clearing.get(target, set())
