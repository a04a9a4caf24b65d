"""Start-up pre-warm: on a Space (or when asked) the feature visualization's pictures reach the disk cache."""

from __future__ import annotations

import pytest

import registry
from app import prewarm
from registry.teaching import lesson


@pytest.mark.parametrize(
    ("space", "setting", "expected"),
    [(None, None, False), ("me/cnn-lens", None, True), ("me/cnn-lens", "0", False), (None, "1", True)],
)
def test_it_runs_on_a_space_or_when_asked_and_never_when_turned_off(monkeypatch, space, setting, expected):
    for name, value in (("SPACE_ID", space), ("CNNLENS_PREWARM", setting)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert prewarm.wanted() is expected


def test_the_background_run_fills_the_cache_for_the_plugin_and_learn(monkeypatch, tmp_path, tiny, samples):
    monkeypatch.setenv("CNNLENS_FEATURE_VIS_CACHE", str(tmp_path))
    thread = prewarm.prewarm_feature_vis(tiny, steps=8, size=32)
    thread.join(timeout=120)
    assert not thread.is_alive() and len(list(tmp_path.glob("*.png"))) >= 4  # at least the plugin's default count
    heard: list[float] = []
    settings = registry.FeatureVisSettings(steps=8, size=32)
    lesson.channel_pictures(tiny, samples["cat"], settings=settings, progress=lambda f, _words: heard.append(f))
    assert heard == pytest.approx([1 / 3, 2 / 3, 1.0])  # every stage read from the cache: no optimisation step ran
