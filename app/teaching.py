"""The collapsible "How to read this map · Common pitfalls" section of a plugin's tab.

The text is the plugin's own (`Plugin.how_to_read`, `Plugin.pitfalls`), so a community plugin
teaches the same way as a built-in one; a plugin that declares neither gets no section.
"""

from __future__ import annotations

import gradio as gr

from registry import Plugin


def teaching_markdown(plugin: Plugin) -> str:
    """The section's text, or "" when the plugin declares none."""
    parts = []
    if plugin.how_to_read.strip():
        parts.append(f"**How to read this map.** {plugin.how_to_read.strip()}")
    if plugin.pitfalls.strip():
        parts.append(f"**Common pitfalls.** {plugin.pitfalls.strip()}")
    return "\n\n".join(parts)


def build_teaching_section(plugin: Plugin) -> gr.Accordion | None:
    """Lay out the closed accordion inside the current tab (nothing when the plugin has no teaching text)."""
    text = teaching_markdown(plugin)
    if not text:
        return None
    with gr.Accordion("How to read this map · Common pitfalls", open=False, elem_id=f"teach-{plugin.name}") as section:
        gr.Markdown(text, elem_id=f"teach-text-{plugin.name}")
    return section
