"""How an error echoes what a client sent: short, and marked when it was cut.

A name, a label or a value from a request may be megabytes long; a reply that repeats it whole costs the
server as much as the request did and buries the sentence. Every message that quotes client text quotes it
through `shorten`.
"""

from __future__ import annotations

ECHO_LIMIT = 60  # characters of a client's text an error repeats


def shorten(value: object, limit: int = ECHO_LIMIT, quoted: bool = True) -> str:
    """`value` as an error quotes it: its repr, or for a longer one the repr of its first `limit` characters
    followed by how long it was ("'xxxx'… (10,000 characters)"). `quoted=False` leaves text as it is, for a
    message that names a thing rather than quoting it ("resnet18 has no weights tagged …")."""
    if isinstance(value, str):
        shown = repr if quoted else str
        return shown(value) if len(value) <= limit else f"{shown(value[:limit])}… ({len(value):,} characters)"
    try:
        text = repr(value)
    except RecursionError:  # a structure nested deeper than repr goes
        text = f"<a deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"
