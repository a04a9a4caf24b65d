"""Controls checked by their Param keep it through Gradio's rebuild of a component after an update."""

import asyncio

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from app import controls
from registry import Param

STRENGTH = Param("strength", "float", 0.5, label="Strength", minimum=0.1, maximum=1.0)


@pytest.mark.parametrize(
    ("control", "param", "options", "good", "bad"),
    [
        (controls.Slider, STRENGTH, {"minimum": 0.1, "maximum": 1.0}, (0.7, 0.7), ("inf", "not 'inf'")),
        (controls.Checkbox, Param("on", "bool", False), {}, (True, True), ("yes", "true or false")),
        (
            controls.Dropdown,
            Param("mode", "choice", "a", choices=("a", "b")),
            {"choices": ["a", "b"]},
            ("b", "b"),
            ("c", "one of"),
        ),
    ],
)
def test_a_checked_control_keeps_its_param_when_an_update_rebuilds_it(control, param, options, good, bad):
    """Hiding or showing a control (gr.update) makes Gradio build a new one for the session from its class and
    constructor arguments: that one still checks values through the Param (it lost it when it lived on the instance)."""
    with gr.Blocks() as demo:
        shown = controls.checked(control, param, value=param.default, **options)
        hide = gr.Button().click(lambda: gr.update(visible=False), inputs=None, outputs=shown)
    state = SessionState(demo)
    asyncio.run(demo.postprocess_data(demo.fns[hide["id"]], gr.update(visible=False), state))  # Gradio's own path
    rebuilt = state[shown._id]
    assert rebuilt is not shown and isinstance(rebuilt, control) and not rebuilt.visible
    assert rebuilt.preprocess(good[0]) == good[1]
    with pytest.raises(gr.Error, match=bad[1]):
        rebuilt.preprocess(bad[0])
