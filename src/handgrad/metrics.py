"""Classification metrics: accuracy, top-k accuracy and error, the confusion matrix.

They take tensors or NumPy arrays and return plain Python numbers (or a NumPy matrix): metrics are
read, not differentiated, so nothing here records a graph.

Top-k error (used in exercise 004-q7). A classifier ranks the C classes of an example by
score; the example counts as correct at k when its true class is among the k best ranked. The
top-k error is the fraction of examples for which it is not:

    top-k error = (1/N) sum_n [ rank_n(y_n) >= k ],   rank 0 = the best-scored class.

ImageNet reports top-1 and top-5 because its 1,000 classes include near-synonyms (many dog breeds)
and photos that show several objects while only one label is given: top-5 forgives a plausible
second guess, top-1 still measures whether the single answer is right.

Ties are broken deterministically, towards the lower class index, the rule of ``argmax``
(NumPy's and PyTorch's): the rank of the true class y among scores s is

    rank(y) = #{j : s_j > s_y} + #{j < y : s_j = s_y},

so ``topk_accuracy(output, target, k=1)`` always equals ``accuracy(output, target)``. A constant
output therefore predicts class 0 and is "right" at k exactly for targets 0..k-1. (scikit-learn's
``top_k_accuracy_score`` breaks ties towards the higher index instead; without ties the two
agree.) NaN scores are an error rather than silently ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._tensor import Tensor


def _array(x: Any, name: str, op: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    if hasattr(x, "detach"):  # a torch tensor, in tests
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # pragma: no cover - exotic inputs
        raise TypeError(f"{op}: {name} must be a tensor or an array, got {type(x).__name__}") from e


def _labels(target: Any, n: int | None, op: str) -> np.ndarray:
    y = _array(target, "target", op)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: target must be a 1-d array of class indices, got dtype {y.dtype} "
            f"shape {y.shape}"
        )
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{op}: output has {n} rows but target has {y.shape[0]} entries")
    return y


def _scores(output: Any, op: str) -> np.ndarray:
    s = _array(output, "output", op)
    if s.ndim != 2:
        raise ValueError(f"{op}: output must be (N, C) scores, got shape {s.shape}")
    if s.dtype.kind == "f" and np.isnan(s).any():
        raise ValueError(f"{op}: output contains NaN scores, which have no rank")
    return s


def ranks(output: Any, target: Any) -> np.ndarray:
    """The rank (0 = best) of each example's true class among its scores, ties towards the lower
    class index (see the module docstring). ``output`` (N, C), ``target`` (N,) -> (N,) int64."""
    s = _scores(output, "ranks")
    y = _labels(target, s.shape[0], "ranks")
    c = s.shape[1]
    if y.size and (y.min() < 0 or y.max() >= c):
        bad = y.min() if y.min() < 0 else y.max()
        raise ValueError(f"ranks: target {bad} is out of range for {c} classes")
    true_score = s[np.arange(len(y)), y][:, None]
    lower_index = np.arange(c)[None, :] < y[:, None]
    beaten = (s > true_score) | ((s == true_score) & lower_index)
    return beaten.sum(axis=1).astype(np.int64)


def topk_accuracy(output: Any, target: Any, k: int | Sequence[int] = (1,)) -> Any:
    """Fraction of examples whose true class is among the k best scored (ties: module docstring).

    ``k`` an int gives a float; a sequence of ints gives a tuple of floats, one per k, as in
    PyTorch's ImageNet example ``accuracy(output, target, topk=(1, 5))``. An empty batch has
    accuracy ``nan``.
    """
    ks = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    s = _scores(output, "topk_accuracy")
    for kk in ks:
        if not isinstance(kk, (int, np.integer)) or not 1 <= kk <= s.shape[1]:
            raise ValueError(
                f"topk_accuracy: k must be an int in [1, {s.shape[1]}] "
                f"(the number of classes), got {kk!r}"
            )
    r = ranks(s, target)
    values = tuple(float((r < kk).mean()) if r.size else float("nan") for kk in ks)
    return values[0] if isinstance(k, (int, np.integer)) else values


def topk_error(output: Any, target: Any, k: int | Sequence[int] = (1,)) -> Any:
    """1 - ``topk_accuracy``: the fraction of examples whose true class is not in the top k."""
    acc = topk_accuracy(output, target, k)
    return 1.0 - acc if isinstance(acc, float) else tuple(1.0 - a for a in acc)


def predictions(output: Any) -> np.ndarray:
    """Predicted classes: ``argmax`` of (N, C) scores (first maximum), or the input itself if it
    is already a 1-d array of class indices."""
    s = _array(output, "output", "predictions")
    if s.ndim == 1 and s.dtype.kind in "iu":
        return s.astype(np.int64, copy=False)
    return _scores(s, "predictions").argmax(axis=1)


def accuracy(output: Any, target: Any) -> float:
    """Fraction of correct predictions; ``output`` is (N, C) scores or (N,) predicted classes."""
    pred = predictions(output)
    y = _labels(target, pred.shape[0], "accuracy")
    return float((pred == y).mean()) if y.size else float("nan")


def confusion_matrix(pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """Counts ``M[i, j]`` of examples of true class i predicted as class j (rows: truth, as in
    scikit-learn's ``confusion_matrix(y_true, y_pred)``). ``pred`` is (N,) classes or (N, C)
    scores. Returns an int64 (num_classes, num_classes) array."""
    p = predictions(pred)
    y = _labels(target, p.shape[0], "confusion_matrix")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(
            f"confusion_matrix: num_classes must be a positive int, got {num_classes!r}"
        )
    for name, v in (("target", y), ("pred", p)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            bad = v.min() if v.min() < 0 else v.max()
            raise ValueError(
                f"confusion_matrix: {name} holds class {bad}, outside [0, {num_classes})"
            )
    flat = np.bincount(y * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


__all__ = ["accuracy", "topk_accuracy", "topk_error", "confusion_matrix", "predictions", "ranks"]
