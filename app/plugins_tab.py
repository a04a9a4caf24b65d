"""The Plugins tab: every plugin loaded (origin, API version, cost, needs), the warnings, and the plugins that failed
to load, so a broken plugin is data on the page rather than a crash."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

import registry
from app.page import Page, TabParts


def build(page: Page) -> TabParts:
    """The report, as it stood when the app was built; it shows no result of a run, so nothing goes stale."""
    with gr.Tab("Plugins", id="plugins"):
        gr.Markdown(plugins_report())
    return TabParts()


def plugins_report() -> str:
    """Markdown listing loaded plugins (origin, API version, cost, needs), warnings and load errors."""
    rows = ["| plugin | title | needs | output | cost | API | origin |", "|---|---|---|---|---|---|---|"]
    for plugin in registry.list_plugins():
        needs = (
            ", ".join(
                n
                for n, flag in (
                    ("target class", plugin.needs_target),
                    ("layer", plugin.needs_layer),
                    ("gradients", plugin.needs_gradients),
                )
                if flag
            )
            or "—"
        )
        output = plugin.output + (" (signed)" if plugin.signed else "")
        rows.append(
            f"| `{plugin.name}` | {plugin.title} | {needs} | {output} | {plugin.cost} | {plugin.api_version} | "
            f"{origin(plugin.source)} |"
        )
    catalog = registry.catalog()
    text = f"### Loaded plugins (plugin API {registry.API_VERSION})\n" + "\n".join(rows)
    if catalog.warnings:
        text += "\n\n### Warnings\n" + "\n".join(f"- **{origin(w.source)}**: {w.message}" for w in catalog.warnings)
    if catalog.errors:
        text += "\n\n### Plugins that failed to load\n" + "\n".join(
            f"- **{origin(error.source)}**: {error.message}" for error in catalog.errors
        )
    else:
        text += "\n\nNo plugin failed to load."
    if catalog.disabled:
        text += f"\n\nSwitched off by CNNLENS_DISABLE_PLUGINS: {', '.join(catalog.disabled)}"
    return text


def origin(source: str) -> str:
    """Where a plugin came from, in words: built in, a folder (its file name only), or a package."""
    if source.startswith("plugins/"):
        return f"built in ({source})"
    if source.startswith("entry point"):
        return f"package: {source.removeprefix('entry point ')}"
    return f"folder: {Path(source).name}"
