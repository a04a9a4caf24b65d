"""Bounded folders: entries end after their lifetime, and the least recently used go past the size bound."""

from __future__ import annotations

import os
import time

import pytest

from registry import storage
from registry.analysis import FeatureVisSettings, visualize_channels


def _entry(folder, name: str, nbytes: int, age: float):
    path = folder / name
    path.write_bytes(bytes(nbytes))
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_entries_past_their_lifetime_go(tmp_path):
    old, fresh = _entry(tmp_path, "old", 10, age=120), _entry(tmp_path, "fresh", 10, age=1)
    gone = storage.Bounded(tmp_path, lifetime=60).sweep()
    assert gone == [old] and fresh.exists() and not old.exists()


def test_the_least_recently_used_go_past_the_size_bound_and_the_newest_stays(tmp_path):
    paths = [_entry(tmp_path, f"f{i}", 1000, age=100 - i) for i in range(5)]  # f0 oldest
    storage.touch(paths[0])  # used now: it is the newest
    storage.Bounded(tmp_path, max_bytes=2500).sweep()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f0", "f4"]
    storage.Bounded(tmp_path, max_bytes=10).sweep()
    assert [p.name for p in tmp_path.iterdir()] == ["f0"]  # over the bound alone, but the newest always stays


def test_a_folder_entry_counts_its_files_and_its_latest_use(tmp_path):
    run = tmp_path / "run-1"
    run.mkdir()
    _entry(run, "map.png", 3000, age=500)
    _entry(run, "late.npy", 1000, age=5)  # written recently: the run is recent
    _entry(tmp_path, "upload.png", 10, age=50)
    found = storage.entries(tmp_path)
    assert [(e.path.name, e.nbytes) for e in found][-1][0] == "run-1" and found[-1].nbytes >= 4000
    storage.Bounded(tmp_path, lifetime=60).sweep()
    assert (run / "map.png").exists()


def test_an_expanded_folder_holds_entries_not_one_entry(tmp_path):
    runs = tmp_path / "cnnlens-results"
    runs.mkdir()
    for i in range(3):
        (runs / f"run-{i}").mkdir()
        _entry(runs / f"run-{i}", "map.png", 1000, age=30 - i)
    _entry(tmp_path, "image.png", 1000, age=40)
    bounded = storage.Bounded(tmp_path, max_bytes=2000, expand=("cnnlens-results",))
    assert bounded.size() == 4000
    bounded.sweep()
    assert runs.is_dir() and sorted(p.name for p in runs.iterdir()) == ["run-1", "run-2"]
    assert not (tmp_path / "image.png").exists()


def test_a_missing_folder_is_empty_and_clear_removes_it(tmp_path):
    assert storage.Bounded(tmp_path / "none", max_bytes=1).sweep() == []
    _entry(tmp_path, "x", 1, age=0)
    storage.Bounded(tmp_path).clear()
    assert not tmp_path.exists()


def test_the_data_folder_follows_its_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLENS_DATA_DIR", str(tmp_path / "d"))
    assert storage.data_folder() == tmp_path / "d"
    monkeypatch.delenv("CNNLENS_DATA_DIR")
    assert storage.data_folder().name == "cnnlens"


def test_distinct_channel_pictures_keep_the_cache_under_its_bound(monkeypatch, tmp_path, tiny):
    """Keys vary with the seed, steps and size, so a visitor can ask for many pictures; after every request the
    cache is within its bound (benchmarks/bench_storage.py makes 200 requests through the same path)."""
    monkeypatch.setenv("CNNLENS_FEATURE_VIS_CACHE_MB", str(6 * 2**10 / 2**20))  # about two 32-pixel pictures
    layer, cache = tiny.suggested_layer("early"), tmp_path / "cache"
    for seed in range(4):
        visualize_channels(tiny, layer, [0, 1, 2, 3], FeatureVisSettings(steps=1, size=32, seed=seed), cache=cache)
        newest = storage.entries(cache)[-1].nbytes
        assert storage.Bounded(cache).size() <= 6 * 2**10 + newest  # the newest may stay alone past the bound
    assert 1 <= len(list(cache.iterdir())) < 16
    kept = storage.entries(cache)[-1].path
    visualize_channels(tiny, layer, [3], FeatureVisSettings(steps=1, size=32, seed=3), cache=cache)
    assert kept.exists()  # a cached picture is served and stays


@pytest.mark.parametrize("raw", ["0", "-1", "lots"])
def test_a_bound_that_is_not_a_positive_number_is_refused(monkeypatch, raw):
    from registry.settings import SettingError, value

    monkeypatch.setenv("CNNLENS_FILES_MB", raw)
    with pytest.raises(SettingError, match="CNNLENS_FILES_MB"):
        value("CNNLENS_FILES_MB")
