"""With Grad-CAM switched off (CNNLENS_DISABLE_PLUGINS=gradcam), every Learn step works or says why not in words."""

import pytest

import registry
from registry.teaching import fail, filters, lesson


@pytest.fixture
def no_gradcam(monkeypatch):
    monkeypatch.setenv("CNNLENS_DISABLE_PLUGINS", "gradcam")
    registry.reload_plugins()
    yield
    monkeypatch.delenv("CNNLENS_DISABLE_PLUGINS")
    registry.reload_plugins()


def test_get_plugin_says_a_switched_off_plugin_is_switched_off(no_gradcam):
    with pytest.raises(registry.UnknownPluginError, match="'gradcam' is switched off") as raised:
        registry.get_plugin("gradcam")
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, ValueError)
    assert not str(raised.value).startswith("'")  # a sentence, not KeyError's quoted repr


def test_every_learn_step_works_or_refuses_in_a_sentence(no_gradcam, lite0, samples):
    cat = samples["cat"]
    assert lesson.stages_sentence(lite0, lesson.network_stages(lite0))
    assert filters.first_layer(lite0, cat).sentence
    assert lesson.layer_by_layer(lite0, cat).sentence  # feature maps need no Grad-CAM
    few = registry.FeatureVisSettings(steps=4, size=32)  # channel pictures need none either
    assert lesson.channel_pictures(lite0, cat, per_stage=1, settings=few).sentence
    steps = [
        lambda: lesson.class_evidence(lite0, cat),
        lambda: lesson.mistake(lite0, cat),
        lambda: fail.make_it_fail(lite0, cat, "rotate"),
        lambda: fail.cover_test(lite0, cat),
    ]
    for step in steps:
        with pytest.raises(ValueError, match=r"^The method 'gradcam' is switched off .*\.$"):
            step()
