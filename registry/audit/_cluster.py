"""SpRAy's steps on a class's maps (Lapuschkin et al. 2019), each one scikit-learn's or SciPy's own solver.

A map is a point: its heat on a small common grid, normalised to unit length, so two images the model explains
the same way are near whatever their overall heat. The points' k-nearest-neighbour graph (symmetrised, as
scikit-learn's `SpectralClustering` makes it) is embedded spectrally; the number of strategies is where the
normalised Laplacian's smallest eigenvalues jump (the eigengap: k nearly separate groups give k eigenvalues
near zero); k-means on the embedding gives the strategies, and t-SNE (UMAP where installed) the 2-D picture.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse

__all__ = ["MAX_STRATEGIES", "Clusters", "affinity", "cluster", "eigengap", "layout", "neighbours_for", "points"]

MAX_STRATEGIES = 8  # the eigengap looks no further
LAYOUT_STEPS = 500  # t-SNE's iterations (scikit-learn's default 1000): a picture to look at, not a measurement
EXACT_UP_TO = 200  # points: t-SNE's exact gradient below (milliseconds), Barnes-Hut above
DENSE_UP_TO = 1500  # points: a dense eigensolver below, a sparse one above (memory stays flat)


@dataclass
class Clusters:
    """Each point's strategy (0 … count-1), the Laplacian's smallest eigenvalues, and the 2-D layout."""

    labels: np.ndarray
    count: int
    eigenvalues: np.ndarray
    layout: np.ndarray
    neighbours: int


def points(maps: np.ndarray) -> np.ndarray:
    """(N, cells) maps as unit-length rows (an all-zero map stays zero)."""
    maps = np.asarray(maps, dtype=np.float64)
    norms = np.linalg.norm(maps, axis=1, keepdims=True)
    return np.divide(maps, norms, out=np.zeros_like(maps), where=norms > 0)


def neighbours_for(count: int) -> int:
    """The graph's k: 10 as SpRAy and scikit-learn use, fewer for a small set (a strategy of a few images must
    still be a neighbourhood of its own)."""
    return int(min(10, max(6, count // 4), count - 1))


def affinity(points: np.ndarray, neighbours: int) -> scipy.sparse.csr_matrix:
    """The symmetrised k-nearest-neighbour connectivity graph, 0.5 (A + Aᵀ)."""
    from sklearn.neighbors import kneighbors_graph  # scikit-learn loads when an audit runs, not with the registry

    graph = kneighbors_graph(points, n_neighbors=neighbours, include_self=True)
    return (0.5 * (graph + graph.T)).tocsr()


def smallest_eigenvalues(graph: scipy.sparse.csr_matrix, count: int) -> np.ndarray:
    """The `count` smallest eigenvalues of the graph's normalised Laplacian, ascending."""
    import scipy.linalg
    import scipy.sparse
    from scipy.sparse.csgraph import laplacian
    from scipy.sparse.linalg import eigsh

    lap = laplacian(graph, normed=True)
    size = lap.shape[0]
    count = min(count, size)
    if size <= DENSE_UP_TO:
        return scipy.linalg.eigh(lap.toarray(), eigvals_only=True, subset_by_index=[0, count - 1])
    shifted = scipy.sparse.identity(size, format="csr") * 2.0 - lap  # eigenvalues 2 − λ: the largest are wanted
    values = eigsh(shifted, k=count, which="LA", return_eigenvectors=False, tol=1e-6, v0=np.ones(size))
    return np.sort(2.0 - values)


def eigengap(eigenvalues: np.ndarray, most: int) -> int:
    """The number of strategies: the k in 2 … `most` with the largest gap λ_k − λ_(k−1)."""
    gaps = np.diff(eigenvalues[: most + 1])  # gaps[i] = λ_(i+1) − λ_i
    if len(gaps) < 2:
        return 2
    return int(np.argmax(gaps[1:most]) + 2)


def cluster(maps: np.ndarray, count: int | None = None, seed: int = 0, neighbours: int | None = None) -> Clusters:
    """Strategies of (N, cells) maps: `count` of them, or as many as the eigengap says (2 … MAX_STRATEGIES)."""
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    with threadpool_limits(limits=1):  # small grids: one thread is quick, and idle OpenMP threads spinning on a busy
        return _cluster(maps, count, seed, neighbours)  # machine made t-SNE 20 times slower (benchmarks/RESULTS.md)


def _cluster(maps: np.ndarray, count: int | None, seed: int, neighbours: int | None) -> Clusters:
    from sklearn.cluster import KMeans
    from sklearn.manifold import spectral_embedding

    found = points(maps)
    size = len(found)
    neighbours = neighbours or neighbours_for(size)
    graph = affinity(found, neighbours)
    most = min(MAX_STRATEGIES, max(2, size // 3))
    eigenvalues = smallest_eigenvalues(graph, max(most, count or 0) + 1)
    count = count or eigengap(eigenvalues, most)
    with warnings.catch_warnings():  # strategies with no edge between them are what is looked for, not a fault
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        embedding = spectral_embedding(graph, n_components=count, drop_first=False, random_state=seed)
    labels = KMeans(n_clusters=count, n_init=10, random_state=seed).fit_predict(embedding)
    return Clusters(labels, count, eigenvalues, layout(found, seed), neighbours)


def layout(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates for the picture: UMAP where installed, else t-SNE (scikit-learn)."""
    from sklearn.manifold import TSNE

    size = len(points)
    try:
        import umap  # optional: pip install umap-learn

        return umap.UMAP(n_neighbors=min(15, size - 1), random_state=seed).fit_transform(points)
    except ImportError:
        pass
    perplexity = float(min(30.0, max(2.0, (size - 1) / 3)))
    method = "exact" if size <= EXACT_UP_TO else "barnes_hut"  # a few dozen points: no tree, no threads to start
    init = "pca" if np.ptp(points, axis=0).max() > 0 else "random"  # all maps alike: PCA's scale is 0 / 0
    return TSNE(
        n_components=2, perplexity=perplexity, init=init, max_iter=LAYOUT_STEPS, method=method, random_state=seed
    ).fit_transform(points)
