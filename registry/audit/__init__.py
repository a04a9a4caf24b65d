"""The audit: does a model cheat? The strategies it uses across a class's images (SpRAy) and the concepts it
relies on. Reads Evaluate's batched maps and rows; imports evaluation and the rooms below it, never the other way.
"""

from __future__ import annotations

from registry.audit._strategies import GRID, MIN_IMAGES, ROW_COLUMNS, Strategies, Strategy, strategies

__all__ = ["GRID", "MIN_IMAGES", "ROW_COLUMNS", "Strategies", "Strategy", "strategies"]
