"""Online k-means: stochastic gradient descent on the k-means objective, one example (or one
mini-batch) per step. Used in exercises 002-a8a and 002-a8b.

For one example x the objective is f(y) = min_k ||x - y_k||^2; its gradient is
2 (y_k - x) for the closest centre k = argmin_k' ||x - y_k'||^2 and 0 for the others. An SGD step
with rate alpha/2 is therefore

    k <- argmin_k' ||x - y_k'||^2
    y_k <- y_k + alpha (x - y_k).

With a constant alpha, y_k is an exponentially weighted average of the examples it wins: it
keeps a variance of about alpha / (2 - alpha) times theirs and oscillates around the minimum
forever. With the per-centre rate alpha = 1/n_k, n_k the number of examples centre k has won so
far (this one included, counts starting at 0), the update is the running mean,

    y_k^(n) = y_k^(n-1) + (x - y_k^(n-1)) / n = (1/n) sum_{m <= n} x_m,

so each centre is exactly the mean of the examples assigned to it (MacQueen, 1967), the first
one replacing the initial centre; the steps shrink like 1/n and the centres converge.

A mini-batch of B examples is assigned with the centres fixed, then each centre takes the m_k
examples it won: n_k <- n_k + m_k, y_k <- y_k + (s_k - m_k y_k) / n_k with s_k their sum (still
the running mean: scikit-learn's MiniBatchKMeans update), or y_k <- y_k + alpha (s_k/m_k - y_k)
with a constant rate. One epoch costs O(N K D), like one Lloyd iteration, but the centres move
N/B times instead of once.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import as_data, non_negative_float, positive_int, rng_from
from .kmeans import _KMeansBase, cluster_sums, initial_centers, squared_distances


class OnlineKMeans(_KMeansBase):
    """k-means by online SGD (module docstring): ``partial_fit`` takes a chunk of data and
    updates the centres one example (``batch_size=1``) or one mini-batch at a time; ``fit``
    makes ``max_iter`` shuffled passes over the data.

    Args:
        n_clusters: K.
        learning_rate: 'inverse' for the per-centre rate 1/n_k (running means, converges), or a
            constant float in (0, 1] (an exponential moving average, keeps oscillating).
        batch_size: examples per step; 1 is the fully online algorithm.
        init: 'k-means++', 'random' or a (K, D) array. With a string, the first chunk given to
            ``partial_fit`` (or X in ``fit``) seeds the centres, so it must hold at least K
            examples.
        max_iter: passes over the data in ``fit``.
        tol: ``fit`` stops when a whole pass moves the centres by a squared distance
            sum_k ||dy_k||^2 <= tol * (mean per-feature variance of X); 0 runs every pass.
        n_init: ``fit`` runs from this many seeds and keeps the lowest inertia (as KMeans).
        shuffle: draw a new order of the examples for each pass of ``fit``.
        random_state: None, an int seed, a NumPy or handgrad Generator.

    Fitted attributes: ``cluster_centers_`` (K, D); ``counts_`` (K,) the n_k; ``n_steps_``
    updates made; after ``fit`` also ``labels_`` and ``inertia_`` (of the final centres on X),
    ``n_iter_`` passes and ``epoch_shifts_`` the Euclidean norm of the change of all centres
    over each pass (how much they still move).
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        learning_rate: Any = "inverse",
        batch_size: int = 1,
        init: Any = "k-means++",
        max_iter: int = 100,
        tol: float = 0.0,
        n_init: int = 1,
        shuffle: bool = True,
        random_state: Any = None,
    ) -> None:
        op = "OnlineKMeans"
        self.n_clusters = positive_int(op, "n_clusters", n_clusters)
        if isinstance(learning_rate, str):
            if learning_rate != "inverse":
                raise ValueError(
                    f"{op}: learning_rate must be 'inverse' or a number in (0, 1], "
                    f"got {learning_rate!r}"
                )
        elif (
            isinstance(learning_rate, bool)
            or not isinstance(learning_rate, numbers.Real)
            or not 0 < learning_rate <= 1
        ):
            raise ValueError(
                f"{op}: learning_rate must be 'inverse' or a number in (0, 1], got "
                f"{learning_rate!r}"
            )
        self.learning_rate = learning_rate
        self.batch_size = positive_int(op, "batch_size", batch_size)
        if isinstance(init, str) and init not in ("k-means++", "random"):
            raise ValueError(f"{op}: init must be 'k-means++', 'random' or an array, got {init!r}")
        self.init = init
        self.max_iter = positive_int(op, "max_iter", max_iter)
        self.tol = non_negative_float(op, "tol", tol)
        self.n_init = positive_int(op, "n_init", n_init)
        self.shuffle = bool(shuffle)
        self.random_state = random_state
        self.cluster_centers_ = None
        self._rng = None

    # ---- the SGD steps ---------------------------------------------------------------------

    def _start(self, op: str, x: np.ndarray) -> None:
        if isinstance(self.init, str) and x.shape[0] < self.n_clusters:
            raise ValueError(
                f"{op}: the first data must hold at least n_clusters="
                f"{self.n_clusters} examples to seed the centres, got {x.shape[0]}"
            )
        if self._rng is None:
            self._rng = rng_from(op, self.random_state)
        self.cluster_centers_ = initial_centers(op, x, self.n_clusters, self.init, self._rng)
        self.counts_ = np.zeros(self.n_clusters, dtype=np.int64)
        self.n_steps_ = 0
        self.n_features_in_ = x.shape[1]

    def _one_by_one(self, x: np.ndarray) -> None:
        centers, counts = self.cluster_centers_, self.counts_
        sq_norms = (centers * centers).sum(1)
        inverse = self.learning_rate == "inverse"
        for xi in x:
            # ||x - y_k||^2 up to the ||x||^2 that all k share
            k = int(np.argmin(sq_norms - 2.0 * (centers @ xi)))
            counts[k] += 1
            rate = 1.0 / counts[k] if inverse else self.learning_rate
            centers[k] += rate * (xi - centers[k])
            sq_norms[k] = centers[k] @ centers[k]
        self.n_steps_ += len(x)

    def _mini_batches(self, x: np.ndarray) -> None:
        centers, counts = self.cluster_centers_, self.counts_
        for start in range(0, len(x), self.batch_size):
            batch = x[start : start + self.batch_size]
            labels = squared_distances(batch, centers).argmin(1)
            sums, m = cluster_sums(batch, labels, self.n_clusters)
            won = m > 0
            if self.learning_rate == "inverse":
                counts += m.astype(np.int64)
                centers[won] += (sums[won] - m[won, None] * centers[won]) / counts[won, None]
            else:
                counts += m.astype(np.int64)
                centers[won] += self.learning_rate * (sums[won] / m[won, None] - centers[won])
            self.n_steps_ += 1

    def _pass(self, x: np.ndarray) -> None:
        if self.batch_size == 1:
            self._one_by_one(x)
        else:
            self._mini_batches(x)

    # ---- scikit-learn interface ------------------------------------------------------------

    def partial_fit(self, X: Any, y: Any = None) -> OnlineKMeans:
        """Update the centres with the examples of X, in the given order (the first call seeds
        the centres from X)."""
        op = "OnlineKMeans.partial_fit"
        if self.cluster_centers_ is None:
            x = as_data(op, X)
            self._start(op, x)
        else:
            x = self._data("partial_fit", X)
        self._pass(x)
        return self

    def fit(self, X: Any, y: Any = None) -> OnlineKMeans:
        """Seed the centres from X and make up to ``max_iter`` passes over it; with
        ``n_init > 1``, repeat from new seeds and keep the run of lowest inertia."""
        op = "OnlineKMeans.fit"
        x = as_data(op, X)
        self._rng = None
        tol = self.tol * float(x.var(0).mean())
        best = None
        for _ in range(self.n_init):
            self._start(op, x)
            shifts = []
            for _ in range(self.max_iter):
                before = self.cluster_centers_.copy()
                self._pass(x[self._rng.permutation(len(x))] if self.shuffle else x)
                shift = float(((self.cluster_centers_ - before) ** 2).sum())
                shifts.append(np.sqrt(shift))
                if shift <= tol:
                    break
            d2 = squared_distances(x, self.cluster_centers_)
            labels = d2.argmin(1)
            run = (
                float(d2[np.arange(len(x)), labels].sum()),
                labels,
                self.cluster_centers_,
                self.counts_,
                self.n_steps_,
                np.array(shifts),
            )
            if best is None or run[0] < best[0]:
                best = run
        (
            self.inertia_,
            self.labels_,
            self.cluster_centers_,
            self.counts_,
            self.n_steps_,
            self.epoch_shifts_,
        ) = best
        self.n_iter_ = len(self.epoch_shifts_)
        return self
