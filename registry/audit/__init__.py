"""The audit: does a model cheat? Concept tests (TCAV) across a dataset, above Evaluate's data readers and passes.

Imports from every room below it (imaging, models, methods, analysis, evaluation); nothing below imports it.
"""

from __future__ import annotations

from registry.audit._concepts import ALPHA, RANDOM_SETS, ConceptTest, concept_test
from registry.audit._sets import MIN_IMAGES, random_sets

__all__ = ["ALPHA", "MIN_IMAGES", "RANDOM_SETS", "ConceptTest", "concept_test", "random_sets"]
