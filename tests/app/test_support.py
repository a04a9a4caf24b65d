"""The line under each method's tab says, before anyone runs it, when the method cannot apply to the backbone."""

import gradio as gr

import registry
from app.support import support_line, support_updates
from app.ui import build_app
from testkit.transformers import transformer


def test_the_line_gives_the_refusal_in_words_and_is_empty_where_the_method_applies(lite0):
    guided, gradcam = registry.get_plugin("guided_backprop"), registry.get_plugin("gradcam")
    vit = transformer("vit")
    assert guided.refusal(vit) in support_line(guided, vit) and "Not available" in support_line(guided, vit)
    assert support_line(gradcam, vit) == "" and support_line(guided, lite0) == ""


def test_a_backbone_change_rewrites_every_line():
    plugins = (registry.get_plugin("guided_backprop"), registry.get_plugin("gradcam"))
    guided, gradcam = support_updates(plugins)("vit_tiny_patch16_224", True)  # no Hub here: random weights, ticked
    assert "Guided Backprop does not apply to vit_tiny_patch16_224" in guided and gradcam == ""
    assert support_updates(plugins)("tf_efficientnet_lite0", False) == ["", ""]
    assert support_updates(plugins)("resnet5O", False) == ["", ""]  # no model: the run says what is wrong


def test_every_tab_has_the_line_and_backbone_changes_refresh_it():
    demo = build_app()
    lines = {
        block.elem_id: block_id
        for block_id, block in demo.blocks.items()
        if isinstance(block, gr.Markdown) and (block.elem_id or "").startswith("support-")
    }
    assert set(lines) == {f"support-{plugin.name}" for plugin in registry.list_plugins()}
    backbone = next(
        block_id for block_id, block in demo.blocks.items() if getattr(block, "elem_id", None) == "backbone"
    )
    refreshing = [
        fn
        for fn in demo.fns.values()
        if (backbone, "change") in fn.targets
        and {id(o) for o in fn.outputs} >= {id(demo.blocks[i]) for i in lines.values()}
    ]
    assert len(refreshing) == 1
