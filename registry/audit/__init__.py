"""The audit: does a model cheat? The strategies it uses across a class's images (SpRAy) and the concepts it
relies on (TCAV). Reads Evaluate's batched maps and rows; imports evaluation and the rooms below it, never the
other way.
"""

from __future__ import annotations

from registry.audit._concepts import ALPHA, RANDOM_SETS, ConceptTest, concept_test
from registry.audit._sets import MIN_IMAGES as CONCEPT_MIN_IMAGES
from registry.audit._sets import random_sets
from registry.audit._strategies import GRID, MIN_IMAGES, ROW_COLUMNS, Strategies, Strategy, strategies

__all__ = [
    "ALPHA",
    "CONCEPT_MIN_IMAGES",
    "GRID",
    "MIN_IMAGES",
    "RANDOM_SETS",
    "ROW_COLUMNS",
    "ConceptTest",
    "Strategies",
    "Strategy",
    "concept_test",
    "random_sets",
    "strategies",
]
