"""The trust section's event functions, called as Gradio calls them (no server): numbers, plot, errors."""

import gradio as gr
import pytest
from PIL import Image

import registry
from app import handlers
from app.trust_section import describe_faithfulness, describe_sanity, section_handler
from tests.registry.analysis.test_verdict import around, scored

LITE0 = registry.DEFAULT_BACKBONE


def quiet(*_args, **_kwargs):
    return None


def test_faithfulness_event_scores_the_map_on_screen(samples):
    handle = section_handler([registry.get_plugin("gradcam")], "faithfulness")
    plot, text, data = handle(
        "gradcam", str(samples["coffee"]), LITE0, "968: cup", False, "auto", "jet", 0.5, 4, "grey", progress=quiet
    )
    assert isinstance(plot, Image.Image) and plot.width > 600
    assert data["target"] == 968 and data["steps"] == 4 and data["baseline"] == "grey" and data["plugin"] == "gradcam"
    assert f"**{data['deletion_auc']:.3f}**" in text and f"**{data['insertion_auc']:.3f}**" in text
    assert "968: cup" in text and "random maps" in text


def test_bad_settings_are_user_errors(samples):
    handle = section_handler([registry.get_plugin("saliency")], "faithfulness")
    on_screen = ("saliency", str(samples["cat"]), LITE0, handlers.PREDICTED, False, None, "max", "jet", 0.5)
    with pytest.raises(gr.Error, match="baseline must be one of blur, grey, zero"):
        handle(*on_screen, 4, "black", progress=quiet)
    with pytest.raises(gr.Error, match="Steps must be a whole number"):
        handle(*on_screen, 4.5, "blur", progress=quiet)
    with pytest.raises(gr.Error, match="Upload an image first"):
        handle("saliency", None, *on_screen[2:], 4, "blur", progress=quiet)


def test_a_randomization_check_cut_short_says_so_under_its_table(tiny, samples):
    with registry.request_scope(abandoned=lambda: bool(reached)):  # the visitor leaves after the original map
        reached = []
        check = registry.sanity_check(tiny, samples["cat"], "gradcam", progress=lambda *_: reached.append(1))
    text = describe_sanity(check)
    assert "| original |" in text and text.count("\n| ") == 2  # the header's rule, then the one finished row
    assert (
        text.endswith("the steps above are the ones finished before.") and "Stopped early:** stopped after 0 of" in text
    )


def test_scoring_cut_short_says_so_under_its_table(tiny, samples):
    result = registry.get_plugin("gradcam").run(tiny, samples["cat"])
    reached = [0.0]
    with registry.request_scope(abandoned=lambda: reached[0] >= 0.9):
        score = registry.faithfulness(
            tiny, samples["cat"], result, steps=4, seeds=3, progress=lambda done, _: reached.__setitem__(0, done)
        )
    text = describe_faithfulness(score)
    assert "| deletion AUC" in text and "| insertion AUC" in text and "2 random maps" in text.splitlines()[0]
    assert text.endswith("Scored with what was finished: 2 of 3 random maps.") and "⏱ **Stopped early:**" in text


def test_the_verdict_follows_the_numbers():
    """Issue 38: the cat's Grad-CAM was said to beat random with insertion below its reverse and deletion within the
    random spread. Now "beats random" comes only with every test passed; otherwise the failed tests, in words."""
    contradicted = scored(0.328, 0.242, around(0.376, 0.035), around(0.11, 0.01), inverse=(0.40, 0.260))
    text = describe_faithfulness(contradicted)
    assert "beats random" not in text and "**No verdict: this map is not shown to be better than random.**" in text
    assert "| ✗ within 2 spreads | ✓ better |" in text and "| ✓ 13.2 spreads better | ✗ not better |" in text
    assert "It fails 2 tests:\n- deletion: its AUC is within 2 spreads" in text and "reverse order's (0.260)" in text
    text = describe_faithfulness(scored(0.10, 0.60, around(0.35, 0.05), around(0.25, 0.05)))
    assert "**Verdict: this map beats random.** On both curves" in text and "✗" not in text


def test_the_peers_metrics_event_scores_the_map_on_screen(samples):
    """The section's third check: the peer metrics ticked, equal to `peer_metrics` of the same map; none ticked is
    refused in words. The cheap pair on timm's test_resnet (random weights) keeps it to a second."""
    from registry.evaluation import peer_metrics

    handle = section_handler([registry.get_plugin("gradcam")], "peer_metrics")
    cheap = ["average_drop", "increase_in_confidence"]
    text, data = handle(
        "gradcam", str(samples["coffee"]), "test_resnet", "968: cup", True, "auto", "jet", 0.5, cheap, progress=quiet
    )
    backbone = handlers.get_backbone("test_resnet", True)
    alone = peer_metrics(backbone, str(samples["coffee"]), "gradcam", target=968, metrics=cheap)
    assert data["target"] == 968 and data["average_drop"] == pytest.approx(alone["average_drop"], rel=1e-5)
    assert "road" not in data and "| average drop (share of the confidence lost) |" in text and "968: cup" in text
    with pytest.raises(gr.Error, match="Tick at least one of the peers' metrics"):
        handle(
            "gradcam", str(samples["coffee"]), "test_resnet", "968: cup", True, "auto", "jet", 0.5, [], progress=quiet
        )


def test_a_family_section_scores_the_chosen_method_with_that_methods_own_controls(samples):
    """One section serves a family: its event gets every method's layer and controls in turn and reads only the
    chosen method's (a wrong slice would score the other method, or fail on its values); an unknown method is
    refused in words."""
    from registry.evaluation import peer_metrics

    family = [registry.get_plugin("gradcam"), registry.get_plugin("saliency")]
    handle = section_handler(family, "peer_metrics")
    every = [
        value
        for plugin in family
        for value in ("auto" if plugin.needs_layer else None, *(p.default for p in plugin.all_params))
    ]
    cheap = ["average_drop"]
    text, data = handle(
        "saliency", str(samples["coffee"]), "test_resnet", "968: cup", True, *every, cheap, progress=quiet
    )
    alone = peer_metrics(
        handlers.get_backbone("test_resnet", True), str(samples["coffee"]), "saliency", 968, None, cheap
    )
    assert data["method"] == "saliency" and data["average_drop"] == pytest.approx(alone["average_drop"], rel=1e-5)
    with pytest.raises(gr.Error, match="Choose a method to score \\(gradcam, saliency\\); got 'lrp'"):
        handle("lrp", str(samples["coffee"]), "test_resnet", "968: cup", True, *every, cheap, progress=quiet)
