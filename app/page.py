"""What a tab gets from the page and gives back to it: every tab is a module with one `build(page) -> TabParts`.

The page (the image, the backbone, the class and the predictions above the tabs) is built once by app/ui.py; a tab
lays itself out inside the page's `gr.Tabs`, wires its own events and returns what the page wires for all tabs
together: its results and what they were computed from (app/stale.py empties them when that changes), its layer
lists (refilled after a backbone change) and its lines saying whether a method applies to the chosen backbone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import gradio as gr

import registry
from registry import Plugin


@dataclass(frozen=True)
class Page:
    """The components above the tabs, shared by every tab: its inputs, and the panels a tab may write to."""

    backbone: registry.Backbone  # the default backbone, loaded at build time: its layers and classes fill the lists
    image: gr.Image
    arrivals: list  # the events that bring a new image (app/ui.py's `image_arrivals`)
    backbone_name: gr.Dropdown
    allow_random: gr.Checkbox
    target: gr.Dropdown
    predictions: gr.Label
    verdict: gr.Markdown  # right / wrong for a bundled sample (app/learn_tab.py writes it)


@dataclass(frozen=True)
class Results:
    """What one run of a tab shows, and every input it was computed from (the page's and the tab's own)."""

    shown: tuple[Any, ...]  # pictures, text, data, downloads: emptied when stale
    reads: tuple[Any, ...]


@dataclass(frozen=True)
class TabParts:
    """What the page needs from a tab."""

    results: tuple[Results, ...] = ()
    layer_lists: tuple[tuple[Plugin, gr.Dropdown], ...] = ()  # refilled with the layers of the backbone now chosen
    support_lines: tuple[tuple[Plugin, gr.Markdown], ...] = ()  # app/support.py: does the method apply to it?


class Tab(Protocol):
    """A tab module (listed in app/tabs.py)."""

    def build(self, page: Page) -> TabParts: ...


def joined(parts: Iterable[TabParts]) -> TabParts:
    """Several tabs' parts as one, in order."""
    listed = list(parts)
    return TabParts(
        results=tuple(result for part in listed for result in part.results),
        layer_lists=tuple(pair for part in listed for pair in part.layer_lists),
        support_lines=tuple(pair for part in listed for pair in part.support_lines),
    )
