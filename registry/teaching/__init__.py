"""Teaching, the top room: the Learn tab's steps (lesson), make-it-fail (fail), the first layer's filters
(filters), and the numbers its "what to notice" sentences are computed from. It may import every other room."""

from __future__ import annotations

from registry.teaching import fail, filters, lesson

__all__ = ["fail", "filters", "lesson"]
