"""k-means: the objective, k-means++ seeding and Lloyd's algorithm. Used in exercise 002-a8b.

The problem: for data x in R^D and K centres y_1..y_K,

    J(y) = sum_{x in T} min_k ||x - y_k||^2  ->  min_y,

the *inertia*. Lloyd's algorithm is block coordinate descent on J written with explicit labels,
J(y, l) = sum_i ||x_i - y_{l_i}||^2:

    assignment:  l_i <- argmin_k ||x_i - y_k||^2     (minimises J over l for fixed y)
    update:      y_k <- mean of {x_i : l_i = k}      (dJ/dy_k = 2 sum_{l_i = k} (y_k - x_i) = 0)

Neither step can increase J, and there are finitely many labellings, so it stops after finitely
many iterations at a local minimum. Each iteration costs O(N K D), dominated by the distances,
computed for all pairs at once as ||x||^2 - 2 x.y + ||y||^2 (one matrix product).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_data, non_negative_float, positive_int, rng_from


def squared_distances(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(N, K) matrix of ||x_i - y_k||^2 = ||x_i||^2 - 2 x_i.y_k + ||y_k||^2, clipped at 0 against
    rounding."""
    d2 = (x * x).sum(1)[:, None] - 2.0 * (x @ centers.T) + (centers * centers).sum(1)[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def inertia(X: Any, centers: Any) -> float:
    """J = sum_i min_k ||x_i - y_k||^2: the k-means objective of ``centers`` (K, D) on ``X``
    (N, D), the sum of squared distances of the samples to their closest centre (scikit-learn's
    ``inertia_``)."""
    x = as_data("inertia", X)
    c = as_data("inertia", centers, "centers")
    if c.shape[1] != x.shape[1]:
        raise ValueError(
            f"inertia: X has {x.shape[1]} features but centers has {c.shape[1]} "
            f"(X shape {x.shape}, centers shape {c.shape})"
        )
    return float(squared_distances(x, c).min(1).sum())


def kmeans_plusplus(
    X: Any, n_clusters: int, random_state: Any = None, n_local_trials: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding (Arthur and Vassilvitskii, 2007; greedy variant as in
    scikit-learn): the first centre is a uniformly drawn sample; each next one is the best of
    ``n_local_trials`` (default 2 + ln K) candidates drawn with probability proportional to
    D(x)^2, the squared distance to the nearest centre chosen so far, "best" meaning the one
    that leaves the smallest potential sum_x D(x)^2. Returns (centers (K, D), their indices)."""
    op = "kmeans_plusplus"
    x = as_data(op, X)
    k = positive_int(op, "n_clusters", n_clusters)
    if k > x.shape[0]:
        raise ValueError(f"{op}: n_clusters={k} is more than the {x.shape[0]} samples of X")
    rng = rng_from(op, random_state)
    trials = (
        2 + int(np.log(k))
        if n_local_trials is None
        else positive_int(op, "n_local_trials", n_local_trials)
    )
    n = x.shape[0]
    indices = np.empty(k, dtype=np.int64)
    indices[0] = rng.integers(n)
    closest = squared_distances(x, x[indices[:1]])[:, 0]
    for c in range(1, k):
        pot = closest.sum()
        if pot <= 0:  # fewer distinct points than clusters: any sample will do
            indices[c] = rng.integers(n)
            continue
        draws = np.searchsorted(np.cumsum(closest), rng.uniform(size=trials) * pot)
        candidates = np.minimum(draws, n - 1)
        d2 = np.minimum(closest[None, :], squared_distances(x[candidates], x))
        best = int(np.argmin(d2.sum(1)))
        indices[c] = candidates[best]
        closest = d2[best]
    return x[indices].copy(), indices


def initial_centers(
    op: str, x: np.ndarray, k: int, init: Any, rng: np.random.Generator
) -> np.ndarray:
    """Centres from ``init``: 'k-means++', 'random' (K distinct samples) or a (K, D) array."""
    if isinstance(init, str):
        if init == "k-means++":
            return kmeans_plusplus(x, k, rng)[0]
        if init == "random":
            return x[rng.choice(x.shape[0], k, replace=False)].copy()
        raise ValueError(
            f"{op}: init must be 'k-means++', 'random' or an array of shape "
            f"(n_clusters, n_features), got {init!r}"
        )
    c = as_data(op, init, "init")
    if c.shape != (k, x.shape[1]):
        raise ValueError(
            f"{op}: init has shape {c.shape} but n_clusters={k} and X has "
            f"{x.shape[1]} features: expected ({k}, {x.shape[1]})"
        )
    return c.copy()


def cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of the samples (K, D) and counts (K,). The samples are sorted by label
    and each run summed with ``np.add.reduceat``: O(N D), and no BLAS call, whose threads cost
    more than the sum for these thin matrices."""
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, x.shape[1]), dtype=x.dtype)
    won = counts > 0
    starts = np.cumsum(counts) - counts
    sums[won] = np.add.reduceat(x[np.argsort(labels, kind="stable")], starts[won], axis=0)
    return sums, counts.astype(x.dtype)


def lloyd(
    x: np.ndarray, centers: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd's iterations from ``centers``; stops when the labels stop changing or the squared
    centre shift sum_k ||y_k^new - y_k||^2 is <= tol. An emptied cluster is moved to the sample
    farthest from its centre (which lowers J). Returns (centers, labels, inertia, n_iter)."""
    k = centers.shape[0]
    labels = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned after the loop)
        d2 = squared_distances(x, centers)
        new_labels = d2.argmin(1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums, counts = cluster_sums(x, labels, k)
        empty = np.flatnonzero(counts == 0)
        new = sums / np.maximum(counts, 1)[:, None]
        if empty.size:
            far = np.argsort(d2[np.arange(len(x)), labels])[::-1][: empty.size]
            new[empty] = x[far]
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= tol:
            break
    d2 = squared_distances(x, centers)
    labels = d2.argmin(1)
    return centers, labels, float(d2[np.arange(len(x)), labels].sum()), n_iter


class _KMeansBase:
    """What every k-means estimator offers once ``cluster_centers_`` is set."""

    cluster_centers_: np.ndarray

    def _check_fitted(self, op: str) -> None:
        if getattr(self, "cluster_centers_", None) is None:
            raise RuntimeError(
                f"{type(self).__name__}.{op}: this estimator is not fitted yet; "
                "call fit (or partial_fit) first"
            )

    def _data(self, op: str, X: Any) -> np.ndarray:
        self._check_fitted(op)
        x = as_data(f"{type(self).__name__}.{op}", X)
        d = self.cluster_centers_.shape[1]
        if x.shape[1] != d:
            raise ValueError(
                f"{type(self).__name__}.{op}: X has {x.shape[1]} features but the "
                f"model was fitted with {d} (X shape {x.shape})"
            )
        return x

    def predict(self, X: Any) -> np.ndarray:
        """The index of the closest centre for each sample."""
        return squared_distances(self._data("predict", X), self.cluster_centers_).argmin(1)

    def transform(self, X: Any) -> np.ndarray:
        """(N, K) Euclidean distances of the samples to the centres."""
        return np.sqrt(squared_distances(self._data("transform", X), self.cluster_centers_))

    def score(self, X: Any) -> float:
        """Minus the inertia of X under the fitted centres (higher is better, as in
        scikit-learn)."""
        x = self._data("score", X)
        return -float(squared_distances(x, self.cluster_centers_).min(1).sum())

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).labels_

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).transform(X)

    def fit(self, X: Any, y: Any = None) -> Any:  # pragma: no cover - defined by subclasses
        raise NotImplementedError


class KMeans(_KMeansBase):
    """k-means by Lloyd's algorithm (module docstring), with k-means++ seeding.

    Args:
        n_clusters: K.
        init: 'k-means++' (greedy, as scikit-learn), 'random' (K distinct samples) or a (K, D)
            array of initial centres.
        n_init: runs from different seeds; the one with the lowest inertia is kept. 'auto' is 1
            for 'k-means++' and 10 for 'random' (scikit-learn's rule); an array init runs once.
        max_iter: Lloyd iterations per run.
        tol: stop when the squared centre shift is <= tol * (mean per-feature variance of X),
            scikit-learn's relative tolerance; a run also stops when the labels stop changing.
        random_state: None, an int seed, a NumPy or handgrad Generator.

    Fitted attributes: ``cluster_centers_`` (K, D), ``labels_`` (N,), ``inertia_`` (float, the
    objective J of the kept run), ``n_iter_``, ``n_features_in_``.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: Any = None,
    ) -> None:
        op = "KMeans"
        self.n_clusters = positive_int(op, "n_clusters", n_clusters)
        if isinstance(init, str) and init not in ("k-means++", "random"):
            raise ValueError(f"{op}: init must be 'k-means++', 'random' or an array, got {init!r}")
        self.init = init
        if n_init != "auto":
            positive_int(op, "n_init", n_init)
        self.n_init = n_init
        self.max_iter = positive_int(op, "max_iter", max_iter)
        self.tol = non_negative_float(op, "tol", tol)
        self.random_state = random_state
        self.cluster_centers_ = None

    def fit(self, X: Any, y: Any = None) -> KMeans:
        op = "KMeans.fit"
        x = as_data(op, X)
        if x.shape[0] < self.n_clusters:
            raise ValueError(
                f"{op}: n_clusters={self.n_clusters} is more than the {x.shape[0]} samples of X"
            )
        rng = rng_from(op, self.random_state)
        if not isinstance(self.init, str):
            runs = 1
        elif self.n_init == "auto":
            runs = 1 if self.init == "k-means++" else 10
        else:
            runs = self.n_init
        tol = self.tol * float(x.var(0).mean())
        best = None
        for _ in range(runs):
            start = initial_centers(op, x, self.n_clusters, self.init, rng)
            result = lloyd(x, start, self.max_iter, tol)
            if best is None or result[2] < best[2]:
                best = result
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        self.n_features_in_ = x.shape[1]
        return self
