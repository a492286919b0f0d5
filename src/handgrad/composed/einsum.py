"""``einsum``, ``tensordot``, ``addmm`` and ``baddbmm``, composed from permute, reshape, getitem,
sum and matmul: their gradients (and higher ones) are those of the pieces. An einsum of two
operands is one batched matrix product, as ``tensordot`` does it: the letters of both operands
and the output are the batch, the letters of both but not the output are contracted, the rest
belong to one side. More operands are contracted left to right.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.linalg import matmul
from ..ops.shape import expand, getitem, permute, reshape

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _parse(equation: str, shapes: list[tuple]) -> tuple[list[str], str, str]:
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: equation {equation!r} has {len(terms)} operands, got {len(shapes)} tensors"
        )
    spare = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in eq]
    widest = 0
    for i, (t, shape) in enumerate(zip(terms, shapes)):  # '...' becomes spare letters
        if "..." in t:
            k = len(shape) - (len(t) - 3)
            if k < 0:
                raise ValueError(f"einsum: operand {i} has shape {shape}, too few dims for {t!r}")
            widest = max(widest, k)
            terms[i] = t.replace("...", "".join(spare[widest - k : widest]) if k else "")
    ell = "".join(spare[:widest])
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        if not t.isalpha() and t:
            raise ValueError(f"einsum: operand {i} term {t!r} must be letters (and '...')")
        if len(t) != len(shape):
            raise ValueError(
                f"einsum: operand {i} term {t!r} names {len(t)} dims but the "
                f"tensor has shape {shape}"
            )
    if arrow:
        out = out.replace("...", ell)
    else:  # implicit output: the letters that occur once, in alphabetical order
        counts = {c: "".join(terms).count(c) for c in "".join(terms)}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    for c in out:
        if c not in "".join(terms):
            raise ValueError(f"einsum: output letter {c!r} does not occur in any operand")
    return terms, out, ell


def _diagonals(x: Tensor, term: str) -> tuple[Tensor, str]:
    """Collapse a repeated letter (x[i, i]) to one dim: the diagonal, kept where the letter
    first occurs."""
    while len(set(term)) < len(term):
        c = next(c for c in term if term.count(c) > 1)
        i, j = term.index(c), term.index(c, term.index(c) + 1)
        if x.shape[i] != x.shape[j]:
            raise ValueError(
                f"einsum: letter {c!r} labels dims of sizes {x.shape[i]} and {x.shape[j]}"
            )
        rest = [d for d in range(x.ndim) if d not in (i, j)]
        x = permute(x, tuple([i] + rest + [j]))
        r = np.arange(x.shape[0])
        x = getitem(x, (r,) + (slice(None),) * len(rest) + (r,))  # (n, *rest)
        x = permute(x, tuple(range(1, i + 1)) + (0,) + tuple(range(i + 1, x.ndim)))
        term = term[:j] + term[j + 1 :]
    return x, term


def _contract(a: Tensor, ta: str, b: Tensor, tb: str, keep: str) -> tuple[Tensor, str]:
    """a (letters ta) times b (letters tb), summed over the shared letters not in ``keep``."""
    batch = [c for c in ta if c in tb and c in keep]
    summed = [c for c in ta if c in tb and c not in keep]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    size = {**dict(zip(ta, a.shape)), **dict(zip(tb, b.shape))}
    for c in set(ta) & set(tb):
        if dict(zip(ta, a.shape))[c] != dict(zip(tb, b.shape))[c]:
            raise ValueError(
                f"einsum: letter {c!r} has sizes {dict(zip(ta, a.shape))[c]} and "
                f"{dict(zip(tb, b.shape))[c]}"
            )
    prod = lambda cs: int(np.prod([size[c] for c in cs])) if cs else 1  # noqa: E731
    a = permute(a, tuple(ta.index(c) for c in batch + left + summed))
    b = permute(b, tuple(tb.index(c) for c in batch + summed + right))
    if prod(summed) == 1:
        # nothing to add up: torch multiplies (its sumproduct_pair with no dim to sum is a mul),
        # so a product -0.0 stays -0.0, where a matrix product adds it to 0 (fuzz seed 22398708)
        a = reshape(a, (prod(batch), prod(left), 1))
        b = reshape(b, (prod(batch), 1, prod(right)))
        return reshape(a * b, tuple(size[c] for c in batch + left + right)), "".join(
            batch + left + right
        )
    a = reshape(a, (prod(batch), prod(left), prod(summed)))
    b = reshape(b, (prod(batch), prod(summed), prod(right)))
    out = reshape(matmul(a, b), tuple(size[c] for c in batch + left + right))
    return out, "".join(batch + left + right)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation: ``einsum('bij,bjk->bik', a, b)`` is a batched matrix product; a letter
    repeated in one operand takes its diagonal ('ii->i'), letters missing from the output are
    summed, '...' stands for the remaining dims, and without '->' the output is the letters that
    occur once, sorted."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [lift(x) for x in operands]
    terms, out, ell = _parse(equation, [x.shape for x in xs])
    # the dims under '...' broadcast against each other (size 1 against n), as in torch
    full = {c: max(x.shape[t.index(c)] for x, t in zip(xs, terms) if c in t) for c in ell}
    xs = [
        expand(x, tuple(full[c] if c in full else n for c, n in zip(t, x.shape)))
        if any(c in full and n != full[c] for c, n in zip(t, x.shape))
        else x
        for x, t in zip(xs, terms)
    ]
    pairs = [_diagonals(x, t) for x, t in zip(xs, terms)]
    # letters needed later: by the output or by an operand not yet contracted
    for k, (x, t) in enumerate(pairs):
        later = out + "".join(tt for _, tt in pairs[k + 1 :]) + "".join(tt for _, tt in pairs[:k])
        drop = tuple(i for i, c in enumerate(t) if c not in later)
        if drop:  # a letter of this operand alone, not in the output: sum it now
            pairs[k] = (x.sum(drop), "".join(c for c in t if c in later))
    x, t = pairs[0]
    for k in range(1, len(pairs)):
        y, u = pairs[k]
        keep = out + "".join(tt for _, tt in pairs[k + 1 :])
        x, t = _contract(x, t, y, u, keep)
    drop = tuple(i for i, c in enumerate(t) if c not in out)
    if drop:
        x, t = x.sum(drop), "".join(c for c in t if c in out)
    return permute(x, tuple(t.index(c) for c in out)) if t != out else x


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum over the last ``dims`` dims of a and the first ``dims`` of b, or over the listed
    pairs ``dims = (dims_a, dims_b)``."""
    x, y = lift(a), lift(b)
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= min(x.ndim, y.ndim):
            raise RuntimeError(f"tensordot: dims={dims} for shapes {x.shape} and {y.shape}")
        da, db = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        da, db = [d % x.ndim for d in da], [d % y.ndim for d in db]
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: dims {dims} pair {len(da)} dims with {len(db)}")
    letters = iter(string.ascii_letters)
    ta = [next(letters) for _ in range(x.ndim)]
    tb = [next(letters) for _ in range(y.ndim)]
    for i, j in zip(da, db):
        tb[j] = ta[i]
    out = [c for i, c in enumerate(ta) if i not in da] + [
        c for j, c in enumerate(tb) if j not in db
    ]
    return einsum(f"{''.join(ta)},{''.join(tb)}->{''.join(out)}", x, y)


def addmm(
    input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """beta input + alpha (mat1 @ mat2)."""
    if lift(mat1).ndim != 2 or lift(mat2).ndim != 2:
        raise RuntimeError(
            f"addmm: expected 2-D matrices, got {lift(mat1).shape} and {lift(mat2).shape}"
        )
    return _scaled_sum(input, matmul(mat1, mat2), beta, alpha)


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """beta input + alpha (batch1 @ batch2) for 3-D batches of matrices."""
    if lift(batch1).ndim != 3 or lift(batch2).ndim != 3:
        raise RuntimeError(
            f"baddbmm: expected 3-D batches, got {lift(batch1).shape} and {lift(batch2).shape}"
        )
    return _scaled_sum(input, matmul(batch1, batch2), beta, alpha)


def _scaled_sum(c: Any, ab: Tensor, beta: float, alpha: float) -> Tensor:
    ab = ab if alpha == 1 else ab * alpha
    if beta == 0:  # as torch: input is ignored (even NaN in it)
        return ab
    c = lift(c, ab)
    return ab + (c if beta == 1 else c * beta)


__all__ = ["einsum", "tensordot", "addmm", "baddbmm"]
