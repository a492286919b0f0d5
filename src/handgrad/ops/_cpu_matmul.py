"""Which of torch's CPU matmul paths a product takes, where that decides the sign of a zero: with
an inner dimension of 1 a matrix product (mm, whose gemm forms alpha a_i b_j) keeps a product's
-0.0, a batched one (bmm) accumulates into +0.0. torch's matmul chooses by its ``should_fold``."""

from __future__ import annotations

from typing import Any

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray, a_requires_grad: bool, general: Any) -> np.ndarray:
    """``a @ b`` as torch forms it, ``general(a, b)`` unless torch's path forms the products.

    A matrix a (m, 1) times a stack b (..., 1, n): torch folds the stack into one matrix
    (``b.mT`` (..., n, 1) as (B n, 1), times ``a.mT``) only when a requires grad (so that a's
    gradient is one product), and that mm forms the products where its output has more than one
    row and column; without the fold, bmm accumulates (fuzz seed 232803275: 4.9e-324 x -0.43 is
    -0.0 in torch when a is a leaf, +0.0 otherwise)."""
    if a.ndim == 2 and b.ndim > 2 and a.shape[1] == 1 and a_requires_grad:
        if a.shape[0] > 1 and b.size // b.shape[-2] > 1:
            return a * b
    return general(a, b)
