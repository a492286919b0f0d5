"""Tensor methods of the vision/processes work, attached in one place (the engine's own
methods live in tensor.py and _tensor_extras.py): ``to_sparse``, ``to_sparse_coo`` and
``is_sparse`` (sparse COO tensors, ops/sparse_coo.py) and ``share_memory_``/``is_shared``
(multiprocessing/shared.py)."""

from __future__ import annotations

from .multiprocessing.shared import is_shared, share_memory_
from .ops.sparse_coo import to_sparse
from .tensor import Tensor

Tensor.to_sparse = to_sparse
Tensor.to_sparse_coo = to_sparse
Tensor.is_sparse = property(lambda self: False)  # a dense tensor; SparseCOOTensor says True
Tensor.share_memory_ = share_memory_
Tensor.is_shared = is_shared
