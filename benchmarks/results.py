"""RESULTS.md is shared by several benchmark scripts: each rewrites only its own `## ` section."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(heading: str, text: str, path: Path = RESULTS) -> None:
    """Put `text` (which starts with `heading`) in place of that section, or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# CNN Lens benchmark results\n"
    body = text.rstrip() + "\n"
    if heading in old:
        start = old.index(heading)
        following = old.find("\n## ", start + len(heading))
        end = following + 1 if following != -1 else len(old)
        updated = old[:start] + body + ("\n" + old[end:] if following != -1 else "")
    else:
        updated = old.rstrip() + "\n\n" + body
    path.write_text(updated, encoding="utf-8")


def publish(heading: str, text: str, write: bool) -> None:
    """Print a benchmark's section, and with `write` (the scripts' --write) put it in RESULTS.md."""
    print(text)
    if write:
        replace_section(heading, text)
