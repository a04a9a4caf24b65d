"""The one rule that keeps a stale result off the screen, for every tab: a result is emptied as soon as an input it
was computed from changes (app/page.py: each tab says what its results read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.page import Page, TabParts


def clear_stale(page: Page, parts: TabParts) -> None:
    """Wire the rule. What counts as a change of an input:

    - the image: a new one arriving (the user's upload, paste or clear; a sample clicked);
    - the backbone and the weights choice: any change;
    - the class and the layer lists: the user's own change (`input`; for the class, a prediction clicked too), not
      `change`: after a backbone change the app refills them itself seconds later, and a result the user ran
      meanwhile, for the new model, must not be wiped by that refill (the backbone change has already emptied
      every result computed from them);
    - any other control of a tab: any change, whoever makes it (the user, a preset, the tab following the page).

    One event per trigger empties everything that trigger makes stale, in the browser itself (no request: a queued or
    slow server must not leave the old map beside the new model's top-5 for a second).
    """
    triggers: dict[int, list[Callable]] = {
        id(page.image): page.arrivals,
        id(page.target): [page.target.input, page.predictions.select],
        **{id(layer): [layer.input] for _, layer in parts.layer_lists},
    }
    staled: dict[Callable, dict[int, Any]] = {}  # trigger → the outputs it empties, each once, by identity
    for result in parts.results:
        for component in result.reads:
            for trigger in triggers.get(id(component), [component.change]):
                staled.setdefault(trigger, {}).update((id(shown), shown) for shown in result.shown)
    for trigger, emptied in staled.items():
        outputs = list(emptied.values())
        trigger(None, inputs=None, outputs=outputs, js=cleared(len(outputs)), api_visibility="private", queue=False)


def cleared(count: int) -> str:
    """A browser function that empties `count` outputs."""
    return f"() => {'null' if count == 1 else '[' + ', '.join(['null'] * count) + ']'}"
