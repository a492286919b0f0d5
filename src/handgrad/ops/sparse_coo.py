"""Sparse COO tensors (``torch.sparse_coo_tensor``) and the product sparse @ dense, for graph
networks: a normalised adjacency matrix times node features.

A ``SparseCOOTensor`` holds ``indices`` (int64, sparse_dim x nnz) and ``values`` (nnz,) as
NumPy arrays; duplicate indices are allowed (uncoalesced) and add up, as in torch. Gradients
reach the dense operand of ``sparse_mm`` and, when the sparse tensor was built from a ``values``
tensor that requires grad (``sparse_coo_tensor(indices, values)``, or ``x.to_sparse()`` of such
an ``x``), those values too: learnable edge weights. A sparse *leaf* that requires grad (a
gradient stored as a sparse ``.grad``) is not provided.

The product is computed by ``scipy.sparse`` (CSR times dense), an optional dependency imported
on first use: ``pip install scipy`` (it comes with ``handgrad[extras]`` through scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from .index import scatter_add
from .shape import index_select

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor  # what these functions hand out, as everywhere in ops
else:
    from .._tensor_base import TensorBase as Tensor


def _scipy_sparse() -> Any:
    try:
        import scipy.sparse
    except ImportError as e:  # pragma: no cover - scipy is installed with scikit-learn
        raise ImportError(
            "sparse tensors: the product sparse @ dense needs the optional package "
            "scipy (pip install scipy, or handgrad[extras])"
        ) from e
    return scipy.sparse


def _array(x: Any, dtype: Any = None) -> np.ndarray:
    return np.asarray(x._data if isinstance(x, Tensor) else x, dtype=dtype)


class SparseCOOTensor:
    """A sparse tensor in coordinate format, as a ``torch.sparse_coo_tensor`` (layout
    ``torch.sparse_coo``, no dense dimensions: one value per index)."""

    is_sparse = True
    is_cuda = False
    grad = None
    layout = "sparse_coo"

    def __init__(
        self,
        indices: np.ndarray,
        values: np.ndarray,
        size: tuple,
        coalesced: bool = False,
        tracked: Tensor | None = None,
    ) -> None:
        self._ind = indices
        self._val = values
        self._shape = tuple(int(s) for s in size)
        self._coalesced = coalesced
        self._csr: Any = None  # the scipy matrix of a 2-D tensor, built on first product
        # the values as a tensor in the graph, when they require grad (their array is _val)
        self._tracked = tracked if tracked is not None and tracked.requires_grad else None

    @property
    def requires_grad(self) -> bool:
        return self._tracked is not None

    @property
    def device(self) -> Any:
        return Tensor._wrap(self._val).device  # whatever a dense tensor reports

    # ---- what it is --------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._shape

    def size(self, dim: int | None = None) -> Any:
        return self._shape if dim is None else self._shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._val.dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def sparse_dim(self) -> int:
        return len(self._shape)

    def dense_dim(self) -> int:
        return 0

    def _nnz(self) -> int:
        return self._val.shape[0]

    def is_coalesced(self) -> bool:
        return self._coalesced

    def _indices(self) -> Tensor:
        return Tensor._wrap(self._ind)

    def _values(self) -> Tensor:
        return self._tracked if self._tracked is not None else Tensor._wrap(self._val)

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError(
                "indices: cannot get indices on an uncoalesced tensor, please "
                "call .coalesce() first"
            )
        return Tensor._wrap(self._ind)

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError(
                "values: cannot get values on an uncoalesced tensor, please call .coalesce() first"
            )
        return self._values()

    # ---- conversions -------------------------------------------------------------------------

    def coalesce(self) -> SparseCOOTensor:
        """Indices sorted in row-major order and duplicates summed (torch keeps the entries
        whose sum is zero, and so does this)."""
        if self._coalesced:
            return self
        if self._val.size == 0:
            return SparseCOOTensor(self._ind, self._val, self._shape, coalesced=True)
        flat = (
            np.ravel_multi_index(tuple(self._ind), self._shape)
            if self._shape
            else np.zeros(self._val.shape[0], np.int64)
        )
        unique, inverse = np.unique(flat, return_inverse=True)
        indices = (
            np.stack(np.unravel_index(unique, self._shape)).astype(np.int64)
            if self._shape
            else np.zeros((0, unique.shape[0]), np.int64)
        )
        indices = indices.reshape(len(self._shape), -1)
        if self._tracked is not None:  # summed in the graph: each duplicate gets the gradient
            summed = scatter_add(
                Tensor._wrap(np.zeros(unique.shape[0], self._val.dtype)),
                0,
                Tensor._wrap(inverse.reshape(-1).astype(np.int64)),
                self._tracked,
            )
            return SparseCOOTensor(indices, summed._data, self._shape, True, summed)
        values = np.zeros(unique.shape[0], self._val.dtype)
        np.add.at(values, inverse, self._val)
        return SparseCOOTensor(indices, values, self._shape, coalesced=True)

    def to_dense(self, dtype: Any = None) -> Tensor:
        if self._tracked is not None:  # differentiable: a scatter-add of the values
            flat = (
                np.ravel_multi_index(tuple(self._ind), self._shape)
                if self._shape
                else np.zeros(self._val.shape[0], np.int64)
            )
            size = int(np.prod(self._shape))
            dense = scatter_add(
                Tensor._wrap(np.zeros(size, self._val.dtype)),
                0,
                Tensor._wrap(flat.astype(np.int64)),
                self._tracked,
            )
            dense = dense.reshape(self._shape)
            return dense if dtype is None else dense.to(dtype)
        out = np.zeros(self._shape, self._val.dtype)
        np.add.at(out, tuple(self._ind), self._val)
        return Tensor._wrap(out if dtype is None else out.astype(dtype))

    def to_sparse(self) -> SparseCOOTensor:
        return self

    def to(self, *args: Any, **kwargs: Any) -> SparseCOOTensor:
        dtype = kwargs.get("dtype")
        for a in args:  # .to(device), .to(dtype), .to(device, dtype)
            if not isinstance(a, str):
                try:
                    dtype = np.dtype(a)
                except TypeError:  # a device object: handgrad runs on the CPU
                    continue
        if dtype is None:
            return self
        if self._tracked is not None:
            v = self._tracked.to(dtype)
            return SparseCOOTensor(self._ind, v._data, self._shape, self._coalesced, v)
        return SparseCOOTensor(self._ind, self._val.astype(dtype), self._shape, self._coalesced)

    def float(self) -> SparseCOOTensor:
        return self.to(np.float32)

    def double(self) -> SparseCOOTensor:
        return self.to(np.float64)

    def cpu(self) -> SparseCOOTensor:
        return self

    def detach(self) -> SparseCOOTensor:
        return SparseCOOTensor(self._ind, self._val, self._shape, self._coalesced)

    def t(self) -> SparseCOOTensor:
        if self.ndim != 2:
            raise RuntimeError(f"t: expects a 2-D sparse tensor, got shape {self._shape}")
        return self.transpose(0, 1)

    def transpose(self, dim0: int, dim1: int) -> SparseCOOTensor:
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return SparseCOOTensor(
            self._ind[order].copy(),
            self._val,
            tuple(self._shape[d] for d in order),
            tracked=self._tracked,
        )

    def _scipy(self) -> Any:
        """The matrix as ``scipy.sparse.csr_matrix`` (duplicates summed), cached: a GCN
        multiplies by the same adjacency at every layer and step."""
        if self._csr is None:
            sp = _scipy_sparse()
            self._csr = sp.coo_matrix(
                (self._val, (self._ind[0], self._ind[1])), shape=self._shape
            ).tocsr()
        return self._csr

    # ---- arithmetic --------------------------------------------------------------------------

    def mm(self, mat2: Tensor) -> Tensor:
        return mm(self, mat2)

    def __matmul__(self, other: Tensor) -> Tensor:
        return mm(self, other)

    def __mul__(self, other: Any) -> SparseCOOTensor:
        if isinstance(other, (int, float, np.number)) or (
            isinstance(other, Tensor) and other.ndim == 0
        ):
            if self._tracked is not None or (isinstance(other, Tensor) and other.requires_grad):
                v = self._values() * other
                return SparseCOOTensor(self._ind, v._data, self._shape, self._coalesced, v)
            scale = np.asarray(_array(other), self._val.dtype)
            return SparseCOOTensor(self._ind, self._val * scale, self._shape, self._coalesced)
        return NotImplemented

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return (
            f"tensor(indices={self._ind.tolist()},\n       values={self._val.tolist()},\n"
            f"       size={self._shape}, nnz={self._nnz()}, dtype={self.dtype}, "
            f"layout=sparse_coo)"
        )


class SparseMM(Function):
    """out = A @ B for a sparse A (m x k, entries v_k at (r_k, c_k)) and a dense B (k x n).

    out_ij = sum_k [r_k = i] v_k B_{c_k j}, so

    - dL/dB_lj = sum_i A_il g_ij: dL/dB = A^T g, again a sparse @ dense product (so the gradient
      is itself differentiable with respect to g and to the values);
    - dL/dv_k = sum_j g_{r_k j} B_{c_k j}: row r_k of g times row c_k of B, one number per stored
      entry (duplicates each get the gradient of their position, as in torch).

    The values are an input only when they require grad (``values``); the sparsity pattern is a
    parameter. Shapes: A m x k, B k x n, g m x n, dL/dB k x n, dL/dv (nnz,).
    """

    name = "sparse_mm"
    uses_inputs = True

    def forward(
        self, b: np.ndarray, values: np.ndarray | None = None, *, sparse: SparseCOOTensor
    ) -> np.ndarray:
        self.sparse = sparse
        m, n = sparse.shape[0], b.shape[1]
        if sparse._nnz() == 0 or 0 in sparse.shape or n == 0:
            return np.zeros((m, n), b.dtype)
        if values is not None:
            # values in the graph may be stepped in place by an optimizer: no cached matrix
            matrix = (
                _scipy_sparse()
                .coo_matrix((values, (sparse._ind[0], sparse._ind[1])), shape=sparse.shape)
                .tocsr()
            )
            return np.asarray(matrix @ b, dtype=b.dtype)
        return np.asarray(sparse._scipy() @ b, dtype=b.dtype)

    def backward(self, g: Tensor) -> tuple:
        b = self.inputs[0]
        tracked = self.inputs[1] if len(self.inputs) > 1 else None
        pattern = self.sparse
        gb = gv = None
        if self.needs_input_grad[0]:
            at = pattern.t()
            gb = (
                SparseMM.apply(g, tracked, sparse=at)
                if tracked is not None
                else SparseMM.apply(g, sparse=at)
            )
        if tracked is not None and self.needs_input_grad[1]:
            rows = Tensor._wrap(pattern._ind[0])
            cols = Tensor._wrap(pattern._ind[1])
            gv = (index_select(g, 0, rows) * index_select(b, 0, cols)).sum(-1)
        return (gb,) if tracked is None else (gb, gv)


def mm(mat1: SparseCOOTensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: a 2-D sparse tensor times a 2-D dense tensor, giving a dense tensor
    whose gradient reaches ``mat2`` and, when they require grad, ``mat1``'s values. (The
    sparse @ sparse form of torch is not provided.)"""
    if not isinstance(mat1, SparseCOOTensor):
        raise TypeError(
            f"sparse.mm: mat1 must be a sparse COO tensor (hg.sparse_coo_tensor or "
            f"Tensor.to_sparse()), got {type(mat1).__name__}"
        )
    if isinstance(mat2, SparseCOOTensor):
        raise NotImplementedError("sparse.mm: sparse @ sparse is not provided; use mat2.to_dense()")
    b = lift(mat2)
    if mat1.ndim != 2 or b.ndim != 2:
        raise RuntimeError(
            f"sparse.mm: expected 2-D operands, got shapes {mat1.shape} and {tuple(b.shape)}"
        )
    if mat1.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"sparse.mm: mat1 and mat2 shapes cannot be multiplied "
            f"({mat1.shape[0]}x{mat1.shape[1]} and {b.shape[0]}x{b.shape[1]})"
        )
    if mat1.dtype != b.dtype:
        raise RuntimeError(
            f"sparse.mm: expected mat1 and mat2 of the same dtype, got {mat1.dtype} and {b.dtype}"
        )
    if mat1._tracked is not None:
        return SparseMM.apply(b, mat1._tracked, sparse=mat1)
    return SparseMM.apply(b, sparse=mat1)


def sparse_coo_tensor(
    indices: Any,
    values: Any,
    size: Sequence[int] | None = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    check_invariants: bool | None = None,
    is_coalesced: bool | None = None,
) -> SparseCOOTensor:
    """``torch.sparse_coo_tensor``: the entries ``values[k]`` at ``indices[:, k]`` (indices
    sparse_dim x nnz); ``size`` defaults to the largest index + 1 along each dimension. Indices
    out of range raise an error naming the dimension."""
    if requires_grad:
        raise NotImplementedError(
            "sparse_coo_tensor: a sparse leaf that requires grad is not "
            "provided; pass a values tensor that requires grad instead "
            "(its gradient arrives there)"
        )
    ind = _array(indices)
    if ind.dtype.kind not in "iu":
        raise RuntimeError(f"sparse_coo_tensor: indices must be an int64 tensor, got {ind.dtype}")
    ind = ind.astype(np.int64)
    val = _array(values)
    if dtype is not None:
        val = val.astype(dtype)
    elif not isinstance(values, (Tensor, np.ndarray)) and val.dtype == np.float64:
        val = val.astype(np.float32)  # Python floats: the default dtype, as hg.tensor
    if ind.ndim != 2:
        raise RuntimeError(
            f"sparse_coo_tensor: indices must be sparse_dim x nnz, but got shape {ind.shape}"
        )
    if val.ndim != 1 or val.shape[0] != ind.shape[1]:
        raise RuntimeError(
            f"sparse_coo_tensor: values must be a 1-D tensor of nnz = "
            f"{ind.shape[1]} entries (dense dimensions are not provided), got "
            f"shape {val.shape}"
        )
    if size is None:
        size = tuple(int(m) + 1 for m in ind.max(axis=1)) if ind.shape[1] else (0,) * ind.shape[0]
    size = tuple(int(s) for s in size)
    if len(size) != ind.shape[0]:
        raise RuntimeError(
            f"sparse_coo_tensor: number of dimensions of size {size} must equal "
            f"sparse_dim {ind.shape[0]} (the rows of indices)"
        )
    if ind.size:
        for d in range(ind.shape[0]):
            lo, hi = ind[d].min(), ind[d].max()
            if lo < 0 or hi >= size[d]:
                bad = lo if lo < 0 else hi
                raise RuntimeError(
                    f"sparse_coo_tensor: index {bad} in dimension {d} is out of "
                    f"bounds for size {size[d]}"
                )
    coalesced = bool(is_coalesced) if is_coalesced is not None else ind.shape[1] <= 1
    if isinstance(values, Tensor) and values.requires_grad:
        tracked = values if dtype is None else values.to(dtype)
        return SparseCOOTensor(ind.copy(), tracked._data, size, coalesced, tracked)
    return SparseCOOTensor(ind.copy(), val.copy(), size, coalesced)


def to_sparse(
    input: Tensor,
    sparse_dim: int | None = None,
    *,
    layout: Any = None,
    blocksize: Any = None,
    dense_dim: int | None = None,
) -> SparseCOOTensor:
    """``Tensor.to_sparse()`` (and ``to_sparse_coo()``): the nonzero entries (NaN counts as
    nonzero) in row-major order, coalesced. Only the COO layout, without dense dimensions."""
    if layout not in (None, "sparse_coo") or blocksize is not None or dense_dim:
        raise NotImplementedError(
            f"to_sparse: only the COO layout without dense dimensions is "
            f"provided, got layout={layout!r}, blocksize={blocksize!r}, "
            f"dense_dim={dense_dim!r}"
        )
    x = lift(input)
    a = x._data
    if sparse_dim is not None and sparse_dim != a.ndim:
        raise NotImplementedError(
            f"to_sparse: only sparse_dim = ndim ({a.ndim}) is provided "
            f"(no dense dimensions), got {sparse_dim}"
        )
    if a.ndim == 0:
        raise RuntimeError("to_sparse: a 0-d tensor has no sparse form here; reshape it to (1,)")
    nz = np.nonzero(a != 0)
    indices = np.stack(nz).astype(np.int64).reshape(a.ndim, -1)
    if x.requires_grad:  # the values stay in the graph: gradients reach x at its nonzeros
        flat = Tensor._wrap(np.ravel_multi_index(nz, a.shape).astype(np.int64))
        values = index_select(x.reshape(-1), 0, flat)
        return SparseCOOTensor(indices, values._data, a.shape, True, values)
    return SparseCOOTensor(indices, a[nz].copy(), a.shape, coalesced=True)


def spmm(mat1: SparseCOOTensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: the same as ``sparse.mm``."""
    return mm(mat1, mat2)


def _legacy(name: str) -> Any:
    def constructor(
        indices: Any, values: Any, size: Sequence[int] | None = None
    ) -> SparseCOOTensor:
        return sparse_coo_tensor(indices, values, size)

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (
        f"``torch.sparse.{name}(indices, values, size)``, the legacy "
        f"constructor; like torch 2.13's, it keeps the dtype of ``values``."
    )
    return constructor


FloatTensor = _legacy("FloatTensor")
DoubleTensor = _legacy("DoubleTensor")

__all__ = ["SparseCOOTensor", "sparse_coo_tensor", "spmm"]
