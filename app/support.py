"""The line under a method's tab that says, before anyone clicks, that the method cannot apply to the
chosen backbone and why (from `Plugin.refusal`); it is empty when the method applies."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gradio as gr

import registry
from app import handlers
from registry import Plugin


def support_line(plugin: Plugin, backbone: registry.Backbone) -> str:
    """Markdown for the tab: the refusal in words, or "" when `plugin` applies to `backbone`."""
    refusal = plugin.refusal(backbone)
    return f"⚠️ **Not available for this backbone.** {refusal}" if refusal else ""


def support_updates(plugins: Sequence[Plugin]) -> Callable[[str, bool], list[str] | str]:
    """After a backbone change, every tab's line for the backbone now chosen."""

    def update(backbone_value: str, allow_value: bool) -> list[str] | str:
        try:
            backbone = handlers.get_backbone(backbone_value, allow_value)
        except gr.Error:  # no model: nothing to say here (the run will say what is wrong)
            lines = [""] * len(plugins)
        else:
            lines = [support_line(plugin, backbone) for plugin in plugins]
        return lines if len(lines) > 1 else lines[0]

    return update


def wire(
    plugins: Sequence[Plugin],
    lines: Sequence[gr.Markdown],
    backbone_name: gr.Dropdown,
    allow_random: gr.Checkbox,
    gpu: Callable,
) -> None:
    """Refresh the lines whenever the backbone or the weights choice changes."""
    for trigger in (backbone_name.change, allow_random.change):
        trigger(
            gpu(support_updates(tuple(plugins))),
            inputs=[backbone_name, allow_random],
            outputs=list(lines),
            api_visibility="private",
        )
