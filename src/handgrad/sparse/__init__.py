"""``handgrad.sparse``: proximal gradient methods and sparse coding.

- ``soft_threshold``: S_t(x) = sign(x) max(|x| - t, 0), the prox of t ||.||_1;
- ``ista``, ``fista``: the Lasso min 1/2 ||A x - b||^2 + lam ||x||_1 (scikit-learn's ``Lasso``
  with alpha = lam / n_samples), ``lasso_objective``, ``lipschitz_constant``;
- ``DictionaryLearning``: codes and dictionary by alternating FISTA and block coordinate
  descent (``fit``, ``transform``, ``components_``); ``sparse_encode`` for a fixed dictionary;
- ``plots.plot_gaps``: ISTA's and FISTA's objective gaps against their guarantees.

    import handgrad as hg
    result = hg.sparse.fista(A, b, lam=0.1)
    result.x, result.objective[-1]

and, as ``torch.sparse``, the product of a sparse COO tensor (``hg.sparse_coo_tensor``,
``Tensor.to_sparse()``) with a dense one: ``mm`` / ``spmm``, differentiable with respect to the
dense operand (the primitive ``sparse_mm`` in ``handgrad/ops/sparse_coo.py``).
"""

from ..ops.sparse_coo import DoubleTensor, FloatTensor, mm, spmm
from .dictionary import DictionaryLearning, sparse_encode
from .proximal import (
    LassoResult,
    fista,
    ista,
    lasso_objective,
    lipschitz_constant,
    soft_threshold,
)

__all__ = [
    "DictionaryLearning",
    "DoubleTensor",
    "FloatTensor",
    "LassoResult",
    "fista",
    "ista",
    "lasso_objective",
    "lipschitz_constant",
    "mm",
    "soft_threshold",
    "sparse_encode",
    "spmm",
]
