"""Class numbers and class names as a person types them: the one parser of a class number, and a label search.

The registry's `run`, Compare and the app's target box all read a typed class through here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from registry.imaging import shorten

__all__ = ["MAX_CLASS_QUERY", "class_index", "find_classes", "parse_class_number"]

# ASCII only: str.isdigit also accepts '²' or '٣', which nobody types as a number.
_DIGITS = re.compile(r"[0-9]+")


def parse_class_number(value: Any, num_classes: int | None = None) -> int:
    """A class index from an int or a string of ASCII digits, in range when `num_classes` is given.

    The one parser of class numbers: the registry's `run` and the app's target box both use it.
    """
    span = f" from 0 to {num_classes - 1}" if num_classes else ""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        index = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        index = int(value.strip())
    else:
        raise ValueError(
            f"The target class must be a class number{span}, written with the digits 0-9; got {shorten(value)}."
        )
    if num_classes is not None and not 0 <= index < num_classes:
        raise ValueError(f"The target class must be a number{span}; got {shorten(value)}.")
    return index


MAX_CLASS_QUERY = 200  # longer than any ImageNet label with all its synonyms (121 characters)


def find_classes(query: str, labels: Sequence[str], limit: int = 5) -> list[int]:
    """Classes a typed word may mean, best first: "golden" finds 207 (golden retriever).

    A label is every name of its class ("tabby, tabby cat"), so all names are searched: a label equal
    to the query first, then labels holding every word of it (shortest first), then close spellings.
    """
    wanted = " ".join(query.lower().replace(",", " ").split())
    if not wanted or len(wanted) > MAX_CLASS_QUERY:  # a client's string: no fuzzy search over a megabyte
        return []
    names = [[name.strip() for name in label.lower().split(",")] for label in labels]
    exact = [index for index, synonyms in enumerate(names) if wanted in synonyms]
    words = wanted.split()
    holding = sorted(
        (
            index
            for index, synonyms in enumerate(names)
            if index not in exact and all(word in ", ".join(synonyms) for word in words)
        ),
        key=lambda index: len(labels[index]),
    )
    found = exact + holding
    if len(found) < limit:
        spelled = {name: index for index, synonyms in reversed(list(enumerate(names))) for name in synonyms}
        close = difflib.get_close_matches(wanted, list(spelled), n=limit, cutoff=0.75)
        found += [spelled[name] for name in close if spelled[name] not in found]
    return found[:limit]


def class_index(value: Any, labels: Sequence[str]) -> int:
    """A class from its number or its name ("espresso", "tabby" for "tabby, tabby cat"): a model of one's own is
    asked about by the names it was trained with. A name several classes share, or none, is refused with the
    classes it may mean."""
    if not isinstance(value, str) or _DIGITS.fullmatch(value.strip()):
        return parse_class_number(value, len(labels))
    wanted = value.strip().lower()
    named = [index for index, label in enumerate(labels) if wanted in [n.strip().lower() for n in label.split(",")]]
    if len(named) == 1:
        return named[0]
    offer = named or find_classes(value, labels)
    hint = f" Did you mean {', '.join(f'{i}: {labels[i]}' for i in offer)}?" if offer else ""
    raise ValueError(f"{shorten(value)} is not one class of this model: give its number or its exact name.{hint}")
