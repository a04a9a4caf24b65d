"""The Learn tab in the interface: first in the row, its endpoints, the right / wrong mark, teaching sections."""

import shutil

import gradio as gr
import pytest

import registry
from app import handlers, learn_tab
from app.ui import build_app

LITE0 = registry.DEFAULT_BACKBONE


@pytest.fixture(scope="module")
def demo():
    return build_app()


def _tabs(demo) -> list[gr.Tab]:
    tabs = next(block for block in demo.blocks.values() if isinstance(block, gr.Tabs))
    return [child for child in tabs.children if isinstance(child, gr.Tab)]


def _inside(block) -> list:
    found = []
    for child in getattr(block, "children", []):
        found += [child, *_inside(child)]
    return found


def test_learn_is_the_first_tab_and_its_steps_are_endpoints(demo):
    tabs = _tabs(demo)
    assert [tab.label for tab in tabs[:2]] == ["Learn", "Compare"]
    endpoints = {fn.api_name for fn in demo.fns.values() if fn.api_name}
    assert {
        "learn_network",
        "learn_first_layer",
        "learn_layers",
        "learn_classes",
        "learn_mistake",
        "make_it_fail",
    } <= endpoints
    ids = {getattr(block, "elem_id", None) for block in _inside(tabs[0])}
    assert {f"learn-run-{n}" for n in range(1, 6)} | {f"learn-note-{n}" for n in range(1, 6)} | {
        "learn-run-fail",
        "learn-run-all",
        "learn-sample-5",
    } <= ids


def test_every_plugin_tab_has_its_teaching_section(demo):
    by_label = {block.label: block for block in demo.blocks.values() if isinstance(block, gr.Tab)}  # in families
    for plugin in registry.list_plugins():
        accordions = [block for block in _inside(by_label[plugin.title]) if isinstance(block, gr.Accordion)]
        assert any(block.elem_id == f"teach-{plugin.name}" and "pitfalls" in block.label for block in accordions), (
            plugin.name
        )


@pytest.mark.parametrize("stem,mark", [("cat", "✅ Right"), ("clock", "❌ Wrong"), ("retina", "ℹ️")])
def test_predictions_of_a_sample_are_marked_right_or_wrong(samples, stem, mark):
    predictions = handlers.predict(str(samples[stem]), LITE0, False)  # the panel's own value
    text = learn_tab.verdict_text(str(samples[stem]), predictions)
    assert text.startswith(mark), text
    assert registry.imaging.samples.labelled_samples()[stem].licence in text


def test_other_images_and_empty_panels_get_no_mark(samples, tmp_path):
    copy = tmp_path / "cat.png"
    shutil.copy(samples["cat"], copy)
    assert learn_tab.verdict_text(str(copy), {"282: tiger cat": 0.4}).startswith("✅")  # the same bytes, any name
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert learn_tab.verdict_text(str(copy), {"282: tiger cat": 0.4}) == ""
    assert learn_tab.verdict_text(str(samples["cat"]), None) == ""
    assert learn_tab.verdict_text(None, {"282: tiger cat": 0.4}) == ""


def test_steps_explain_user_mistakes(samples):
    with pytest.raises(gr.Error, match="Upload an image first"):
        learn_tab.run_layers(None, LITE0, False)
    with pytest.raises(gr.Error, match="no change called"):
        learn_tab.run_fail(str(samples["cat"]), LITE0, False, "melt", 0.5)
    with pytest.raises(gr.Error, match="'a tabby please' is not a class"):
        learn_tab.run_classes(str(samples["cat"]), LITE0, False, "a tabby please")


def test_step_three_gives_its_feature_maps_first_and_step_five_takes_a_chosen_sample(samples):
    """Issue 38: step 3's maps are instant and come alone first (the channel pictures follow in a second event);
    step 5 explains the sample chosen in its list, and says so when the model gets that one right."""
    maps, channels, note = learn_tab.run_layer_maps(str(samples["cat"]), LITE0, False)
    assert maps.endswith(".png") and channels is None and learn_tab.CHANNELS_COMING in note
    _, explained = learn_tab.run_mistake(str(samples["cat"]), LITE0, False, "horse")
    assert "horse.png shows" in explained
    with pytest.raises(gr.Error, match="gets coffee.png right"):
        learn_tab.run_mistake(str(samples["cat"]), LITE0, False, "coffee")


def test_grad_cam_step_takes_the_class_as_the_picker_gives_it(samples):
    for choice in ("281: tabby, tabby cat", "281", "tabby"):
        _, note = learn_tab.run_classes(str(samples["cat"]), LITE0, False, choice)
        assert "for 282 tiger cat" in note and "for 281 tabby, tabby cat" in note, (choice, note)


def test_make_it_fail_handler_gives_a_figure_both_top5_lists_and_the_sentence(samples):
    figure, table, note = learn_tab.run_fail(str(samples["rocket"]), LITE0, False, "upside_down", 0.5)
    assert figure.endswith(".png") and note.startswith("**What to notice:**")
    assert table.count("\n") == 6 and "657: missile" in table.splitlines()[2] and "517: crane" in table.splitlines()[2]
