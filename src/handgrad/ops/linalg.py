"""Matrix products: ``matmul`` (batched, with PyTorch's 1-D rules) and the fused ``linear``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from . import _cpu_matmul, blas
from .shape import Permute

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _matmul(a: np.ndarray, b: np.ndarray, one_term: bool = False) -> np.ndarray:
    """``np.matmul(a, b)``; with an inner dim of 1, the products a_i b_j themselves where torch's
    matrix product (2-D, or a stack folded to 2-D, times a matrix) forms them: for more than one
    row and column of output, or always (``one_term``: linear's addmm, which adds the bias to the
    product); the BLAS call (its vector paths, and NumPy's) accumulates into +0.0, so a product
    -0.0 (-2.4e-80 times 0) becomes +0.0 there, which a later 1 / x tells apart (fuzz seed
    757785005). A stack of matrices times one matrix, a (..., n, k) @ b (k, m), is
    one matrix product of all the (..., n) rows when a's memory holds those rows contiguously in
    some order of its leading axes: np.matmul would call the BLAS once per matrix of the stack
    (a Transformer's (32, 64, 128) activations times a weight: 32 products of 64 rows instead of
    one of 2048; its sequence-first (64, 32, 128) views ran 64 products of 32 rows). The result
    is returned in a's order of axes (a view)."""
    if b.ndim == 2 and a.ndim >= 1 and a.shape[-1] == 1 and b.shape[0] == 1:
        if a.ndim == 1 and one_term:
            return a[0] * b[0]
        if a.ndim >= 2 and (one_term or (b.shape[1] > 1 and a.size // a.shape[-1] > 1)):
            return a * b
    if a.ndim > 2 and b.ndim == 2 and a.size:
        lead = a.ndim - 1
        order = sorted(range(lead), key=lambda i: -a.strides[i])
        at = a.transpose(*order, lead)
        if at.flags.c_contiguous:
            out = np.matmul(at.reshape(-1, a.shape[-1]), b)
            out = out.reshape(*at.shape[:-1], b.shape[-1])
            return out.transpose(*np.argsort(order), lead)
    return np.matmul(a, b)


class Matmul(Function):
    """out = a @ b for a (..., n, k) and b (..., k, m), batch dims broadcast.
    d out = da b + a db, so dL/da = g b^T and dL/db = a^T g (transposing the last two dims);
    the engine sums over broadcast batch dims."""

    name = "matmul"

    def forward(self, a, b):
        return _cpu_matmul.matmul(a, b, self.needs_input_grad[0], _matmul)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g @ b.mT if na else None), (a.mT @ g if nb else None)


class Linear(Function):
    """out = x W^T + b for x (..., in), W (out, in), b (out,).

    dL/dx = g W;  dL/dW = g^T x (summed over all leading dims);  dL/db = sum of g over them.
    A fused primitive (PyTorch's addmm) because it is the hottest operation of an MLP: one node
    instead of three (transpose, matmul, add), and the bias is added in place.
    """

    name = "linear"

    def forward(self, x, w, b=None):
        out = _matmul(x, w.T, one_term=b is not None)
        if b is not None:
            # with an empty inner dim torch's addmm gives the bias itself, whose -0.0 stays
            # -0.0 where +0.0 + b gave +0.0 (fuzz seed 1778762734)
            if x.shape[-1] == 0:
                np.copyto(out, b)
            else:
                np.add(out, b, out=out)
        return out

    def backward(self, g):
        (x, w), (nx, nw, nb) = self.inputs[:2], (*self.needs_input_grad, False)[:3]
        # explicit sizes: with a zero-size dim, -1 cannot be inferred
        rows = int(np.prod(g.shape[:-1]))
        g2 = g.reshape(rows, g.shape[-1]) if g.ndim != 2 else g
        x2 = x.reshape(rows, x.shape[-1]) if x.ndim != 2 and nw else x

        def input_grad() -> Tensor:  # Matmul.apply: the shapes are known to fit (no checks)
            return Matmul.apply(g, w) if g.ndim >= 2 else matmul(g, w)

        def weight_grad() -> Tensor:
            return Matmul.apply(Permute.apply(g2, dims=(1, 0)), x2)

        # two independent products, side by side on two threads when large (ops/blas.py)
        gx, gw = blas.both(input_grad, weight_grad, (nx, nw), rows * w.numel())
        return (gx, gw, _column_sums(g2) if nb else None)[: len(self.inputs)]


def _column_sums(g: Tensor) -> Tensor:
    """``g.sum(0)`` of a (rows, m) gradient: without a graph, one product with a ones vector
    (the BLAS sums the rows in one pass; NumPy's reduction over axis 0 took 0.14 against 0.09 ms
    for 2048 x 384, 0.05 against 0.01 ms for 2048 x 128); a sum that is not finite is formed
    again by the reduction, so that inf and NaN come out as they did."""
    if is_grad_enabled() or g.dtype not in (np.float32, np.float64):
        return g.sum(0)
    s = np.ones(g.shape[0], g.dtype) @ g._data
    return Tensor._wrap(s) if np.isfinite(s).all() else g.sum(0)


class Inv(Function):
    """out = A^-1 for square A (batched). From A A^-1 = I, dA A^-1 + A d(A^-1) = 0, so
    d out = -out dA out, and dL/dA = -out^T g out^T."""

    name = "inv"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        try:
            return np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError(f"inv: the matrix (batch of shape {a.shape}) is singular") from None

    def backward(self, g):
        out = self.output()
        return -(out.mT @ g @ out.mT)


class Det(Function):
    """out = det A (batched). Jacobi's formula: d det A = det A tr(A^-1 dA), so
    dL/dA = g det(A) A^-T. (Written with inv, so it needs an invertible A; PyTorch also
    covers singular ones through an SVD.)"""

    name = "det"
    uses_output = True

    def forward(self, a):
        return np.asarray(np.linalg.det(a))

    def backward(self, g):
        a = self.inputs[0]
        scale = (g * self.output()).reshape(g.shape + (1, 1))
        return scale * Inv.apply(a).mT


class Solve(Function):
    """X = A^-1 B for square A and B of shape (..., n, k). From A X = B: A dX = dB - dA X, so
    dL/dB = A^-T g (a solve with A^T) and dL/dA = -dL/dB X^T."""

    name = "solve"
    uses_output = True

    def forward(self, a, b):
        try:
            return np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise RuntimeError(
                f"solve: the matrix (batch of shape {a.shape}) is singular"
            ) from None

    def backward(self, g):
        a = self.inputs[0]
        gb = Solve.apply(a.mT, g)
        na, nb = self.needs_input_grad
        return (-(gb @ self.output().mT) if na else None), (gb if nb else None)


def _matmul_error(a: Tensor, b: Tensor) -> RuntimeError:
    return RuntimeError(
        f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
        f"({a.shape[-1] if a.ndim else 'scalar'} != {b.shape[-2] if b.ndim > 1 else (b.shape[0] if b.ndim else 'scalar')})"
    )


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D x 1-D is a dot product, a 1-D first argument
    is a row vector and a 1-D second argument a column vector (the added dim is removed after),
    and batch dimensions broadcast."""
    if getattr(input, "is_sparse", False):  # torch.matmul(sparse, dense)
        from .sparse_coo import mm as sparse_mm

        return sparse_mm(input, other)
    a, b = lift(input), lift(other)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} and {b.shape}"
        )
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise _matmul_error(a, b)
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions of {a.shape} and {b.shape} do not broadcast"
            ) from None
    if a.dtype != b.dtype:
        dtype = np.result_type(a._data, b._data)
        a, b = a.to(dtype), b.to(dtype)
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = a.unsqueeze(0)
    if vb:
        b = b.unsqueeze(-1)
    out = Matmul.apply(a, b)
    if vb:
        out = out.squeeze(-1)
    if va:
        out = out.squeeze(-2 if not vb else -1)
    return out


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    if getattr(input, "is_sparse", False):  # torch.mm(sparse, dense), as torch.sparse.mm
        from .sparse_coo import mm as sparse_mm

        return sparse_mm(input, mat2)  # type: ignore[arg-type]  # is_sparse: a SparseCOOTensor
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(
            f"bmm: expected 3-D tensors with the same batch size, got {input.shape} and "
            f"{mat2.shape}"
        )
    return matmul(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.ndim != 1 or other.ndim != 1 or input.shape != other.shape:
        raise RuntimeError(
            f"dot: expected two 1-D tensors of the same size, got {input.shape} and {other.shape}"
        )
    return matmul(input, other)


def linear_arguments(op: str, input: Any, weight: Any, bias: Any) -> tuple[Tensor, ...]:
    """(x, W) or (x, W, b) as tensors, checked: x (..., n), W (m, n), b (m,). Shared by ``linear``
    and ``normalized_linear``."""
    x, w = lift(input), lift(weight)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise RuntimeError(
            f"{op}: input of shape {x.shape} does not match weight of shape {w.shape} "
            f"(expected input (..., {w.shape[-1] if w.ndim else '?'}))"
        )
    if bias is None:
        return x, w
    b = lift(bias, w)
    if b.shape != (w.shape[0],):
        raise RuntimeError(f"{op}: bias of shape {b.shape} does not match weight {w.shape}")
    return x, w, b


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear``: x W^T + b."""
    return Linear.apply(*linear_arguments("linear", input, weight, bias))


def _square(op: str, a: Tensor) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{op}: expected a square matrix or a batch of them, got shape {a.shape}"
        )
    if a._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating tensor, got {a.dtype}")


def inverse(input: Tensor) -> Tensor:
    """``torch.inverse`` / ``torch.linalg.inv``."""
    a = lift(input)
    _square("inv", a)
    return Inv.apply(a)


def det(input: Tensor) -> Tensor:
    """``torch.det`` / ``torch.linalg.det``."""
    a = lift(input)
    _square("det", a)
    return Det.apply(a)


def solve(A: Tensor, B: Tensor) -> Tensor:
    """``torch.linalg.solve``: X with A X = B; B of shape (..., n, k), or (..., n) for a vector
    (when it has one dim fewer than A)."""
    a, b = lift(A), lift(B)
    _square("solve", a)
    vector = b.ndim == a.ndim - 1
    bm = b.unsqueeze(-1) if vector else b
    if bm.ndim < 2 or bm.shape[-2] != a.shape[-1] or bm.shape[:-2] != a.shape[:-2]:
        raise RuntimeError(f"solve: A of shape {a.shape} and B of shape {b.shape} do not match")
    x = Solve.apply(a, bm)
    return x.squeeze(-1) if vector else x


__all__ = ["matmul", "mm", "bmm", "dot", "linear", "inverse", "det"]
