"""The one rule for stale results (app/stale.py), checked on the built app's event graph for the tabs whose results
read different inputs: Learn's steps, Make it fail, Compare, a method's layer list."""

from __future__ import annotations

import pytest

from app.ui import build_app


@pytest.fixture(scope="module")
def emptying() -> dict[str, set[tuple[str, str]]]:
    """For each output (by elem_id, else label): the (trigger's elem_id or label, event) pairs that empty it; a
    sample click's event, which follows the click, is ("sample", "then")."""
    demo = build_app()

    def name(block_id) -> str:
        block = demo.blocks.get(block_id)
        return "sample" if block is None else (getattr(block, "elem_id", None) or getattr(block, "label", None))

    found: dict[str, set[tuple[str, str]]] = {}
    for fn in demo.fns.values():
        if fn.fn is None and fn.js and "null" in fn.js and fn.outputs and not fn.inputs:  # emptied in the browser
            for output in fn.outputs:
                found.setdefault(name(output._id), set()).update((name(block), event) for block, event in fn.targets)
    return found


PAGE = {("input-image", "input"), ("sample", "then"), ("backbone", "change"), ("Allow untrained weights", "change")}
CLASS = {("target", "input"), ("predictions", "select")}


def test_every_learn_step_goes_with_a_new_image_or_model_and_step_four_with_the_class_too(emptying):
    for step in range(1, 6):
        found = emptying[f"learn-note-{step}"]
        assert found >= PAGE, step
        assert (found >= CLASS) == (step == 4), step  # only step 4 explains the chosen class
        assert ("target", "change") not in found  # the app's own refill of the class list wipes nothing


def test_make_it_fail_goes_with_its_change_and_strength(emptying):
    found = emptying["learn-result-fail"]
    assert PAGE | {("learn-change", "change"), ("learn-strength", "change")} <= found and not CLASS & found


def test_compare_follows_its_own_choices_not_the_page_model_or_class(emptying):
    found = emptying["result-compare"]
    axes = {(f"compare-{axis}", "change") for axis in ("backbones", "methods", "classes", "layers", "scores")}
    assert axes <= found  # a preset fills the axes, the page's model refills two: each change counts
    assert PAGE - {("backbone", "change")} <= found and ("backbone", "change") not in found and not CLASS & found


def test_a_layer_list_empties_its_map_on_the_users_change_only(emptying):
    """The app refills the layer lists after a backbone change: that refill must not wipe a map run meanwhile."""
    found = emptying["result-gradcam"]
    assert ("layer-gradcam", "input") in found and ("layer-gradcam", "change") not in found
    assert found >= PAGE | CLASS


def test_the_audit_follows_the_page_model_and_its_own_choices_not_the_image_or_the_page_class(emptying):
    model = {("backbone", "change"), ("Allow untrained weights", "change")}
    own = {(f"audit-{name}", "change") for name in ("source", "zip", "class", "by")}
    strategies, concepts = emptying["result-strategies"], emptying["result-concepts"]
    assert model | own | {("audit-method", "change"), ("audit-clusters", "change")} <= strategies
    assert model | own | {("audit-concepts", "change"), ("audit-random-sets", "change")} <= concepts
    for found in (strategies, concepts):  # its images are its own, and so is its class
        assert not (PAGE - model) & found and not CLASS & found
