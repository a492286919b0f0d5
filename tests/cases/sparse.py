"""Parity case for the sparse @ dense product (``torch.sparse.mm``): the sparse matrix is a
constant built inside the case from integer indices and values passed as parameters, with
duplicate entries (uncoalesced: they add up) and empty rows or columns; only the dense operand
is differentiated."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .common import Case, rng


def _sparse_mm_draw(data):
    r = rng(data)
    m, k, n = (data.draw(st.integers(0, 4), label=s) for s in "mkn")
    nnz = data.draw(st.integers(0, 8), label="nnz") if m and k else 0
    indices = np.stack([r.integers(0, m, nnz), r.integers(0, k, nnz)]) if nnz else \
        np.zeros((2, 0), np.int64)
    return [r.standard_normal((k, n))], {"indices": indices, "values": r.standard_normal(nnz),
                                          "size": (m, k)}


def _sparse_mm(lib, b, indices, values, size):
    a = lib.sparse_coo_tensor(lib.tensor(indices), lib.tensor(values, dtype=b.dtype), size,
                              check_invariants=True)
    return lib.sparse.mm(a, b)


CASES = {
    "sparse_mm": [Case(_sparse_mm, _sparse_mm_draw)],
}
