"""Dictionary learning: sparse codes and a dictionary fitted together by alternating
minimisation.

For data X (N, F), one sample per row, find codes U (N, K) and a dictionary V (K, F) of atoms
v_k (rows) minimising

    J(U, V) = 1/2 ||X - U V||_F^2 + alpha ||U||_{1,1}   subject to ||v_k||_2 <= 1,

(scikit-learn's ``DictionaryLearning`` objective; the constraint stops V from growing while U
shrinks towards 0). J is convex in U for fixed V and in V for fixed U, not jointly; we
alternate the two blocks, from an SVD start:

- **sparse coding** (U with V fixed): N independent Lasso problems
  min_u 1/2 ||x - V^T u||^2 + alpha ||u||_1, solved together by FISTA (``proximal``) on
  A^T A = V V^T (K x K), A^T b = V X^T, warm-started from the previous codes. A sample whose
  new code does not lower its term of J (FISTA is not monotone and stops after
  ``code_max_iter`` steps) keeps its old code, so this step never increases J.
- **dictionary update** (V with U fixed), block coordinate descent over the atoms (Mairal et
  al., 2009): with R = X - sum_{j != k} u_j v_j^T the residual without atom k (u_k the k-th
  column of U), J as a function of v_k is 1/2 ||R - u_k v_k^T||^2 + const
  = ||u_k||^2/2 ||v_k - R^T u_k / ||u_k||^2||^2 + const, an isotropic quadratic: its minimiser on
  the unit ball is the projection of the unconstrained one,

      v_k <- R^T u_k / ||u_k||^2,    v_k <- v_k / max(||v_k||, 1).

  An atom no sample uses (u_k = 0) does not enter J; it is redrawn from a random sample,
  which leaves J unchanged and gives it a chance in the next coding step.

Both steps are exact or safeguarded block minimisations, so J decreases monotonically; the fit
stops when an iteration lowers J by less than ``tol`` times its value.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import as_data, positive_int, rng_from
from .proximal import fista_steps


def _objective_rows(x: np.ndarray, u: np.ndarray, v: np.ndarray, alpha: float) -> np.ndarray:
    r = x - u @ v
    return 0.5 * (r * r).sum(1) + alpha * np.abs(u).sum(1)


def sparse_encode(
    X: Any, dictionary: Any, alpha: float = 1.0, max_iter: int = 1000, tol: float = 1e-6
) -> np.ndarray:
    """Codes U (N, K) minimising 1/2 ||X - U V||^2 + alpha ||U||_1 for a fixed dictionary V
    (K, F): N Lasso problems min_u 1/2 ||x - V^T u||^2 + alpha ||u||_1, solved together by
    FISTA from 0 (``proximal``; the tolerance is relative to max |V X^T|)."""
    op = "sparse_encode"
    x = as_data(op, X)
    v = as_data(op, dictionary, "dictionary")
    if v.shape[1] != x.shape[1]:
        raise ValueError(
            f"{op}: X has {x.shape[1]} features but the dictionary's atoms have "
            f"{v.shape[1]} (X shape {x.shape}, dictionary shape {v.shape})"
        )
    alpha = DictionaryLearning._non_negative(op, "alpha", alpha)
    tol = DictionaryLearning._non_negative(op, "tol", tol)
    return _encode(x, v, alpha, None, positive_int(op, "max_iter", max_iter), tol)


def _encode(
    X: np.ndarray,
    dictionary: np.ndarray,
    alpha: float,
    init: np.ndarray | None,
    max_iter: int,
    tol: float,
) -> np.ndarray:
    """``sparse_encode`` without checks, warm-started from ``init`` (zeros if None); rows whose
    objective would rise keep ``init`` (the estimator's inner loop)."""
    v = dictionary
    ata = v @ v.T
    atb = v @ X.T
    lip = float(np.linalg.eigvalsh(ata)[-1])
    step = 1.0 / lip if lip > 0 else 1.0
    start = np.zeros((v.shape[0], X.shape[0])) if init is None else init.T.copy()
    scale = float(np.abs(atb).max()) or 1.0
    codes, _, _ = fista_steps(ata, atb, alpha, start, step, max_iter, tol * scale)
    codes = codes.T
    if init is not None:
        worse = _objective_rows(X, codes, v, alpha) > _objective_rows(X, init, v, alpha)
        codes[worse] = init[worse]
    return codes


def update_dictionary(
    X: np.ndarray, codes: np.ndarray, dictionary: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One pass of block coordinate descent over the atoms (module docstring). No checks."""
    v = dictionary.copy()
    residual = X - codes @ v
    for k in range(v.shape[0]):
        u = codes[:, k]
        norm2 = float(u @ u)
        if norm2 <= 1e-20:
            sample = X[rng.integers(X.shape[0])]
            length = float(np.linalg.norm(sample))
            v[k] = sample / length if length > 0 else rng.standard_normal(v.shape[1])
            v[k] /= np.linalg.norm(v[k])
            continue
        residual += np.outer(u, v[k])
        atom = u @ residual / norm2
        atom /= max(float(np.linalg.norm(atom)), 1.0)
        v[k] = atom
        residual -= np.outer(u, atom)
    return v


class DictionaryLearning:
    """Sparse dictionary learning by alternating FISTA coding and block-coordinate dictionary
    updates (module docstring), with scikit-learn's interface.

    Args:
        n_components: K, the number of atoms (default: the number of features).
        alpha: weight of the l1 penalty on the codes.
        max_iter: outer iterations (coding + dictionary update).
        tol: stop when an iteration lowers the objective by less than tol times its value.
        code_max_iter, code_tol: FISTA iterations and tolerance of each coding step.
        transform_alpha: the penalty ``transform`` uses (default ``alpha``).
        init: 'svd' (the top right singular vectors of X, as scikit-learn) or 'random'
            (normalised random samples), or a (K, F) array.
        random_state: None, an int seed, a NumPy or handgrad Generator (random init, redrawn
            atoms).

    Fitted attributes: ``components_`` (K, F), unit-norm atoms (at most 1); ``error_`` the
    objective before the first and after each iteration (non-increasing); ``n_iter_``;
    ``code_`` (N, K) the codes of the training data.
    """

    def __init__(
        self,
        n_components: int | None = None,
        *,
        alpha: float = 1.0,
        max_iter: int = 100,
        tol: float = 1e-6,
        code_max_iter: int = 200,
        code_tol: float = 1e-6,
        transform_alpha: float | None = None,
        init: Any = "svd",
        random_state: Any = None,
    ) -> None:
        op = "DictionaryLearning"
        self.n_components = (
            None if n_components is None else positive_int(op, "n_components", n_components)
        )
        self.alpha = self._non_negative(op, "alpha", alpha)
        self.max_iter = positive_int(op, "max_iter", max_iter)
        self.tol = self._non_negative(op, "tol", tol)
        self.code_max_iter = positive_int(op, "code_max_iter", code_max_iter)
        self.code_tol = self._non_negative(op, "code_tol", code_tol)
        self.transform_alpha = (
            None
            if transform_alpha is None
            else self._non_negative(op, "transform_alpha", transform_alpha)
        )
        if isinstance(init, str) and init not in ("svd", "random"):
            raise ValueError(
                f"{op}: init must be 'svd', 'random' or an array (n_components, "
                f"n_features), got {init!r}"
            )
        self.init = init
        self.random_state = random_state
        self.components_ = None

    @staticmethod
    def _non_negative(op: str, name: str, value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not np.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"{op}: {name} must be a finite number >= 0, got {value!r}")
        return float(value)

    def _initial(self, op: str, x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        n, f = x.shape
        if isinstance(self.init, str):
            if self.init == "svd":
                _, _, vt = np.linalg.svd(x, full_matrices=False)
                v = vt[:k]
                if v.shape[0] < k:  # more atoms than the rank of X: fill with random directions
                    v = np.vstack([v, rng.standard_normal((k - v.shape[0], f))])
            else:
                v = x[rng.choice(n, k, replace=k > n)] + 1e-12 * rng.standard_normal((k, f))
        else:
            v = as_data(op, self.init, "init")
            if v.shape != (k, f):
                raise ValueError(
                    f"{op}: init has shape {v.shape} but n_components={k} and X has "
                    f"{f} features: expected ({k}, {f})"
                )
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(norms > 0, norms, 1.0)

    def fit(self, X: Any, y: Any = None) -> DictionaryLearning:
        op = "DictionaryLearning.fit"
        x = as_data(op, X)
        k = x.shape[1] if self.n_components is None else self.n_components
        rng = rng_from(op, self.random_state)
        v = self._initial(op, x, k, rng)
        u = np.zeros((x.shape[0], k))
        errors = [float(_objective_rows(x, u, v, self.alpha).sum())]
        for _ in range(self.max_iter):
            u = _encode(x, v, self.alpha, u, self.code_max_iter, self.code_tol)
            v = update_dictionary(x, u, v, rng)
            errors.append(float(_objective_rows(x, u, v, self.alpha).sum()))
            if errors[-2] - errors[-1] <= self.tol * errors[-2]:
                break
        self.components_, self.code_ = v, u
        self.error_ = np.array(errors)
        self.n_iter_ = len(errors) - 1
        self.n_features_in_ = x.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Sparse codes (N, K) of X under ``components_``: the Lasso min_u
        1/2 ||x - V^T u||^2 + transform_alpha ||u||_1 for each sample, by FISTA."""
        if self.components_ is None:
            raise RuntimeError(
                "DictionaryLearning.transform: this estimator is not fitted yet; call fit first"
            )
        x = as_data("DictionaryLearning.transform", X)
        if x.shape[1] != self.components_.shape[1]:
            raise ValueError(
                f"DictionaryLearning.transform: X has {x.shape[1]} features but the "
                f"dictionary has {self.components_.shape[1]} (X shape {x.shape})"
            )
        alpha = self.alpha if self.transform_alpha is None else self.transform_alpha
        return _encode(
            x, self.components_, alpha, None, max(self.code_max_iter, 1000), self.code_tol
        )

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return the codes of X found during fitting."""
        return self.fit(X).code_

    def objective(self, X: Any, codes: Any = None) -> float:
        """J(U, V) = 1/2 ||X - U V||^2 + alpha ||U||_1 with the fitted V, and U = ``codes`` or
        ``transform(X)``."""
        x = as_data("DictionaryLearning.objective", X)
        u = (
            self.transform(x)
            if codes is None
            else as_data("DictionaryLearning.objective", codes, "codes")
        )
        if u.shape != (x.shape[0], self.components_.shape[0]):
            raise ValueError(
                f"DictionaryLearning.objective: codes must have shape "
                f"({x.shape[0]}, {self.components_.shape[0]}), got {u.shape}"
            )
        return float(_objective_rows(x, u, self.components_, self.alpha).sum())
