"""Exact t-SNE (van der Maaten and Hinton, 2008) and symmetric SNE, optimised with the
hand-derived gradient of ``costs``.

The optimiser is the paper's gradient descent with momentum and per-coordinate gains
(Jacobs' delta-bar-delta), with scikit-learn's schedule and constants:

    gains <- gains + 0.2   where the update and the gradient have opposite signs (progress)
    gains <- gains * 0.8   elsewhere;  gains >= 0.01
    update <- momentum * update - learning_rate * gains * dC/dY
    Y <- Y + update

Stage 1 (``early_exaggeration_iter`` = 250 iterations): P multiplied by ``early_exaggeration``
(12), momentum 0.5; stage 2: the true P, momentum 0.8, until ``max_iter``. The paper used an
exaggeration of 4 for 50 iterations and learning rate 100; scikit-learn's 12 for 250 and the
'auto' rate max(N / early_exaggeration / 4, 50) (Belkina et al., 2019) are the defaults here.
Update and gains restart at the second stage, as in scikit-learn. Every 50 iterations the
cost is evaluated; a stage stops early when the gradient norm falls below ``min_grad_norm`` or
the cost has not improved for ``n_iter_without_progress`` iterations.

One iteration costs O(N^2) time and memory: a few N x N float32 arrays (4 MB each at N = 1000;
the affinities are computed in float64 first, 8 MB).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import as_data, rng_from
from .affinities import _check_perplexity, joint_probabilities
from .costs import _check_kernel, kl_and_gradient

_CHECK_EVERY = 50


def _positive(op: str, name: str, value: Any, minimum: float = 0.0, strict: bool = True) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and np.isfinite(value)
        and (value > minimum if strict else value >= minimum)
    )
    if not ok:
        rule = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{op}: {name} must be a finite number {rule}, got {value!r}")
    return float(value)


def _int(op: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{op}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def gradient_descent(
    P: np.ndarray,
    Y: np.ndarray,
    kernel: str,
    start: int,
    stop: int,
    momentum: float,
    learning_rate: float,
    min_gain: float = 0.01,
    min_grad_norm: float = 1e-7,
    n_iter_without_progress: int = 300,
) -> tuple[np.ndarray, float, int]:
    """Iterations ``start..stop-1`` of the momentum-and-gains descent (module docstring) on
    KL(P || Q(Y)). Returns (Y, last evaluated cost, index of the last iteration run)."""
    n = Y.shape[0]
    buffers = (np.empty((n, n), P.dtype), np.empty((n, n), P.dtype))
    update = np.zeros_like(Y)
    gains = np.ones_like(Y)
    best_cost, best_iter, cost = np.inf, start, np.nan
    i = start
    for i in range(start, stop):
        check = (i + 1) % _CHECK_EVERY == 0 or i == stop - 1
        c, grad = kl_and_gradient(P, Y, kernel, compute_cost=check, buffers=buffers)
        progress = update * grad < 0.0
        gains = np.where(progress, gains + 0.2, gains * 0.8)
        np.maximum(gains, min_gain, out=gains)
        grad *= gains
        update = momentum * update - learning_rate * grad
        Y += update
        if check:
            cost = c
            if np.linalg.norm(grad) <= min_grad_norm:
                break
            if cost < best_cost:
                best_cost, best_iter = cost, i
            elif i - best_iter > n_iter_without_progress:
                break
    return Y, cost, i


def pca_init(x: np.ndarray, n_components: int) -> np.ndarray:
    """The first principal components of x, scaled so that the first has standard deviation
    1e-4 (scikit-learn's 'pca' initialisation: PCA's global layout, t-SNE's tiny start)."""
    centred = x - x.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    y = u[:, :n_components] * s[:n_components]
    # fix the signs (largest loading positive) so that the result does not depend on LAPACK
    y *= np.sign(y[np.abs(y).argmax(0), np.arange(y.shape[1])])
    spread = y[:, 0].std()
    return y / spread * 1e-4 if spread > 0 else np.zeros_like(y)  # all points identical


class TSNE:
    """t-distributed stochastic neighbour embedding, exact, with a hand-derived gradient.

    Args:
        n_components: dimension d of the embedding.
        perplexity: effective number of neighbours of each point (``affinities``).
        early_exaggeration: factor on P during the first ``early_exaggeration_iter`` iterations.
        learning_rate: 'auto' = max(N / early_exaggeration / 4, 50) for t-SNE and N / 20 for the
            Gaussian kernel (its gradient lacks the heavy tail's damping and grows with p_ij ~
            1/N^2: a fixed rate of 50 diverges below about 400 points), or a positive number.
        n_iter, max_iter: total iterations (two names for one setting, scikit-learn renamed it);
            1000 if neither is given.
        n_iter_without_progress, min_grad_norm: stopping rules (module docstring).
        init: 'pca' or 'random' (N(0, 1e-4^2)), or an (N, d) array.
        random_state: seeds the 'random' initialisation.
        method: 'exact' only (no Barnes-Hut approximation).
        kernel: 'student-t' (t-SNE) or 'gaussian' (symmetric SNE: the crowding problem made
            visible).
        early_exaggeration_iter: length of the first stage (250).

    Fitted attributes: ``embedding_`` (N, d), ``kl_divergence_`` (the final KL(P || Q)),
    ``n_iter_`` (iterations run), ``learning_rate_``, ``P_`` (the joint input affinities).
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        perplexity: float = 30.0,
        early_exaggeration: float = 12.0,
        learning_rate: Any = "auto",
        n_iter: int | None = None,
        max_iter: int | None = None,
        n_iter_without_progress: int = 300,
        min_grad_norm: float = 1e-7,
        init: Any = "pca",
        random_state: Any = None,
        method: str = "exact",
        kernel: str = "student-t",
        early_exaggeration_iter: int = 250,
    ) -> None:
        op = "TSNE"
        self.n_components = _int(op, "n_components", n_components, 1)
        self.perplexity = _positive(op, "perplexity", perplexity, 1.0)
        self.early_exaggeration = _positive(
            op, "early_exaggeration", early_exaggeration, 1.0, strict=False
        )
        if learning_rate != "auto":
            _positive(op, "learning_rate", learning_rate)
        self.learning_rate = learning_rate
        if n_iter is not None and max_iter is not None and n_iter != max_iter:
            raise ValueError(
                f"{op}: n_iter={n_iter} and max_iter={max_iter} name the same "
                "setting; pass one of them"
            )
        total = (
            1000
            if n_iter is None and max_iter is None
            else (n_iter if n_iter is not None else max_iter)
        )
        self.early_exaggeration_iter = _int(
            op, "early_exaggeration_iter", early_exaggeration_iter, 0
        )
        self.max_iter = self.n_iter = _int(op, "max_iter", total, 1)
        if self.max_iter <= self.early_exaggeration_iter:
            raise ValueError(
                f"{op}: max_iter={self.max_iter} must exceed "
                f"early_exaggeration_iter={self.early_exaggeration_iter}, or no "
                "iteration would optimise the true cost"
            )
        self.n_iter_without_progress = _int(
            op, "n_iter_without_progress", n_iter_without_progress, 1
        )
        self.min_grad_norm = _positive(op, "min_grad_norm", min_grad_norm, strict=False)
        if isinstance(init, str) and init not in ("pca", "random"):
            raise ValueError(
                f"{op}: init must be 'pca', 'random' or an array (N, n_components), got {init!r}"
            )
        self.init = init
        self.random_state = random_state
        if method != "exact":
            raise ValueError(
                f"{op}: method must be 'exact', got {method!r} (handgrad has no "
                "Barnes-Hut approximation: each iteration is O(N^2))"
            )
        self.method = method
        self.kernel = _check_kernel(op, kernel)

    def _initial(self, op: str, x: np.ndarray) -> np.ndarray:
        n, d = x.shape[0], self.n_components
        if isinstance(self.init, str):
            if self.init == "pca":
                if d > min(x.shape):
                    raise ValueError(
                        f"{op}: init='pca' needs n_components={d} <= "
                        f"min(n_samples, n_features) = {min(x.shape)}"
                    )
                return pca_init(x, d)
            return 1e-4 * rng_from(op, self.random_state).standard_normal((n, d))
        y = as_data(op, self.init, "init")
        if y.shape != (n, d):
            raise ValueError(
                f"{op}: init has shape {y.shape} but X has {n} samples and "
                f"n_components={d}: expected ({n}, {d})"
            )
        return y.copy()

    def fit(self, X: Any, y: Any = None) -> TSNE:
        op = "TSNE.fit"
        x = as_data(op, X)
        n = x.shape[0]
        _check_perplexity(op, self.perplexity, n)
        p = joint_probabilities(x, self.perplexity)
        emb = self._initial(op, x)
        if self.learning_rate != "auto":
            lr = float(self.learning_rate)
        elif self.kernel == "gaussian":
            lr = max(n / 20.0, 1.0)
        else:
            lr = max(n / self.early_exaggeration / 4.0, 50.0)
        stage1 = self.early_exaggeration_iter
        last = -1
        # The N x N work runs in float32 (half the memory traffic; scikit-learn's Barnes-Hut
        # t-SNE is float32 throughout); the embedding, gradient and cost stay float64.
        p32 = p.astype(np.float32)
        if stage1:
            emb, _, last = gradient_descent(
                p32 * np.float32(self.early_exaggeration),
                emb,
                self.kernel,
                0,
                stage1,
                0.5,
                lr,
                min_grad_norm=self.min_grad_norm,
                n_iter_without_progress=stage1,
            )
        emb, _, last = gradient_descent(
            p32,
            emb,
            self.kernel,
            last + 1,
            self.max_iter,
            0.8,
            lr,
            min_grad_norm=self.min_grad_norm,
            n_iter_without_progress=self.n_iter_without_progress,
        )
        self.P_ = p
        self.embedding_ = emb
        self.kl_divergence_ = float(kl_and_gradient(p, emb, self.kernel)[0])
        self.n_iter_ = last + 1
        self.learning_rate_ = lr
        self.n_features_in_ = x.shape[1]
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return ``embedding_`` (N, n_components)."""
        return self.fit(X).embedding_
