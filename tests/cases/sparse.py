"""Parity cases for the sparse @ dense product (``torch.sparse.mm``): the sparse matrix is built
inside the case from integer indices (a parameter), with duplicate entries (uncoalesced: they
add up) and empty rows or columns. First the values are constants and only the dense operand is
differentiated; then the values are an input too."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .common import Case, rng


def _sparse_mm_draw(data):
    r = rng(data)
    m, k, n = (data.draw(st.integers(0, 4), label=s) for s in "mkn")
    nnz = data.draw(st.integers(0, 8), label="nnz") if m and k else 0
    indices = (
        np.stack([r.integers(0, m, nnz), r.integers(0, k, nnz)])
        if nnz
        else np.zeros((2, 0), np.int64)
    )
    return [r.standard_normal((k, n))], {
        "indices": indices,
        "values": r.standard_normal(nnz),
        "size": (m, k),
    }


def _sparse_mm(lib, b, indices, values, size):
    a = lib.sparse_coo_tensor(
        lib.tensor(indices), lib.tensor(values, dtype=b.dtype), size, check_invariants=True
    )
    return lib.sparse.mm(a, b)


CASES = {
    "sparse_mm": [Case(_sparse_mm, _sparse_mm_draw)],
}


def _sparse_mm_values_draw(data):
    arrays, params = _sparse_mm_draw(data)
    return arrays + [params.pop("values")], params


def _sparse_mm_values(lib, b, values, indices, size):
    a = lib.sparse_coo_tensor(lib.tensor(indices), values, size, check_invariants=True)
    return lib.sparse.mm(a, b)


# The values in the graph too (learnable edge weights): dL/dv_k = g[r_k] . B[c_k]. torch's
# gradient with respect to the values is not itself differentiable (its second derivatives
# are missing), so second order is checked by finite differences of handgrad's gradient only.
CASES["sparse_mm"].append(
    Case(_sparse_mm_values, _sparse_mm_values_draw, second=False, note="values require grad")
)
