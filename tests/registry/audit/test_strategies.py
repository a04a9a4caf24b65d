"""Strategies (SpRAy) find a planted shortcut: a model that calls marked cats "rocket" (testkit/shortcut.py).

One folder, shared by every test: 12 rocket crops and 12 marked crops of other classes (the model calls them all
rocket), two of the plain ones resized to other shapes. Real weights throughout: behaviour is judged.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score

import registry
from registry.audit import GRID, MIN_IMAGES
from registry.audit._cluster import cluster, neighbours_for, points
from registry.audit._store import MapStore
from registry.audit.strategies_cli import main
from testkit import shortcut


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict[str, bool]]:
    root = tmp_path_factory.mktemp("shortcut") / "data"
    marked = shortcut.make_folder(root, marked=12, unmarked=12, seed=1)
    for name, size in (("plain_000.png", (320, 240)), ("plain_001.png", (200, 280))):  # mixed sizes
        with Image.open(root / name) as image:
            image.resize(size).save(root / name)
    return root, marked


@pytest.fixture(scope="module")
def found(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("audit")
    return registry.strategies(folder[0], shortcut.shortcut_backbone(), target="rocket", out=out), out


def _marked(rows, marked):
    return np.array([marked[Path(row["image"]).name] for row in rows])


def _mark_cells() -> np.ndarray:
    """The GRID cells the mark covers in the model view (the backbone's centre crop drops 16 px a side)."""
    x0, y0, x1, y1 = (value - 16 for value in shortcut.mark_box())
    cell = 224 / GRID
    cells = np.zeros((GRID, GRID), bool)
    cells[int(y0 // cell) : int(np.ceil(y1 / cell)), int(x0 // cell) : int(np.ceil(x1 / cell))] = True
    return cells


def test_the_strategies_separate_marked_from_unmarked(found, folder):
    result, _ = found
    truth = _marked(result.rows, folder[1])
    assert len(result.rows) == 24 and truth.sum() == 12  # every marked crop is called rocket: the shortcut works
    strategy = np.array([row["strategy"] for row in result.rows])
    purity = sum(Counter(truth[strategy == s]).most_common(1)[0][1] for s in set(strategy)) / len(truth)
    rand = adjusted_rand_score(truth, strategy)
    print(f"{len(result.strategies)} strategies, purity {purity:.2f}, adjusted Rand index {rand:.2f}")
    assert purity >= 0.9 and rand >= 0.7


def test_the_marked_strategy_is_first_and_its_heat_lies_on_the_mark(found, folder):
    first = found[0].strategies[0]
    assert sum(folder[1][Path(path).name] for path in first.members) >= 0.9 * first.size
    on_mark = first.mean_map[_mark_cells()].sum() / first.mean_map.sum()
    assert on_mark > 0.3, on_mark  # the mark covers 6 % of the picture
    assert "lower-left" in first.sentence and first.sentence.startswith(f"Strategy 1: {first.size} of 24 images")
    assert all(first.unusual > other.unusual for other in found[0].strategies[1:])


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")  # two strategies with no edge between them
def test_the_clusters_match_scikit_learns_spectral_clustering(found):
    result, out = found
    rows = {row["image"]: row for row in MapStore(out).rows()}
    maps = points(np.stack([rows[row["image"]]["map"] for row in result.rows]))
    direct = SpectralClustering(
        n_clusters=len(result.strategies),
        affinity="nearest_neighbors",
        n_neighbors=neighbours_for(len(maps)),
        random_state=0,
    ).fit_predict(maps)
    assert adjusted_rand_score(direct, [row["strategy"] for row in result.rows]) >= 0.9


def test_rows_figure_and_files(found):
    result, out = found
    assert {"strategies.parquet", "strategies.csv", "strategies_summary.csv", "strategies.png"} <= {
        path.name for path in out.iterdir()
    }
    assert result.figure.width > 600 and result.computed == 24
    row = result.rows[0]
    assert row["target_label"] == "rocket" and row["strategy"] >= 1 and 0 <= row["border"] <= 1
    assert all(len(s.overlays) == min(4, s.size) for s in result.strategies)


def test_a_zip_with_a_manifest_gives_the_heat_outside_the_object(folder, tmp_path):
    """The folder zipped (Evaluate's zip rules) with a manifest whose box is the mark on every image: the marked
    strategy's heat is on its box far more than any other's, in the numbers and the sentences."""
    root, marked = folder
    x0, y0, x1, y1 = shortcut.mark_box()
    lines = ["path,label,box"]
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as zipped:
        for path in sorted(root.iterdir()):
            zipped.write(path, f"data/{path.name}")
            with Image.open(path) as image:  # the two resized ones: the mark's box scaled with them
                sx, sy = image.width / shortcut.SIDE, image.height / shortcut.SIDE
            lines.append(f'{path.name},rocket,"{x0 * sx:g},{y0 * sy:g},{x1 * sx:g},{y1 * sy:g}"')
        zipped.writestr("data/manifest.csv", "\n".join(lines))
    result = registry.strategies(tmp_path / "data.zip", shortcut.shortcut_backbone(), target="rocket")
    assert len(result.rows) == 24
    first, *others = result.strategies
    print([(s.size, round(s.scores.outside, 2)) for s in result.strategies])
    # The box is 5 % of the picture and a Grad-CAM cell is 32 pixels wide: a third of the marked strategy's heat
    # on it is a lot; the others put almost none there.
    assert first.scores.outside < 0.8 and all(other.scores.outside > 0.9 for other in others)
    assert f"{first.scores.outside:.0%} of it outside the object" in first.sentence
    outside = np.array([row["outside"] for row in result.rows])
    truth = _marked(result.rows, marked)
    assert outside[truth].mean() + 0.2 < outside[~truth].mean()


def test_the_stock_backbone_shows_no_mark_strategy(folder):
    stock = registry.load_backbone(shortcut.ARCHITECTURE, device="cpu")
    paths = sorted(folder[0].iterdir())
    plain = [path for path in paths if not folder[1][path.name]][2:5]  # what the stock model calls a rocket crop
    rocket = Counter(stock.predict(path, 1)[0][0] for path in plain).most_common(1)[0][0]
    result = registry.strategies([(path, str(rocket)) for path in paths], stock, target=rocket)
    cells = _mark_cells()
    for strategy in result.strategies:
        marked = sum(folder[1][Path(path).name] for path in strategy.members)
        on_mark = strategy.mean_map[cells].sum() / strategy.mean_map.sum()
        assert not (marked >= 0.9 * strategy.size and on_mark > 0.3), strategy.sentence


def test_too_few_images_say_how_many_are_needed(folder):
    paths = sorted(folder[0].iterdir())[:5]
    with pytest.raises(registry.DataError, match=f"at least {MIN_IMAGES} images of class 'rocket'.*holds 5"):
        registry.strategies(paths, shortcut.shortcut_backbone(), target="rocket")


def test_the_command_line_resumes_from_the_maps_it_has(found, folder, capsys):
    """`cnnlens strategies` on the folder the Python call wrote: the same rows, no map computed again."""
    _, out = found
    argv = [str(folder[0]), "--target", "rocket", "--weights", str(shortcut.shortcut_path()), "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Strategy 1: 12 of 24 images; the heat sits in the lower-left corner")
    assert "24 images of 'rocket' (0 maps computed now)" in printed
    assert main([*argv[:1], "--target", "no such class", "--quiet"]) == 2
    assert "cnnlens strategies: " in capsys.readouterr().err


def test_maps_all_alike_still_get_groups_and_a_layout():
    """A random model's Grad-CAM can be zero on every image: t-SNE's PCA start would divide 0 by 0 (and its
    Barnes-Hut step crashed the process on NaN)."""
    alike = cluster(np.zeros((12, GRID * GRID)), 2)
    assert alike.count == 2 and np.isfinite(alike.layout).all()
