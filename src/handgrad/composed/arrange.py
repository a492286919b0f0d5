"""Functions that select, repeat or rearrange elements: ``tril``, ``triu``, ``diagonal``, ``diag``,
``trace``, ``outer``, ``roll``, ``tile``, ``repeat_interleave``, ``take_along_dim``, ``diff``,
``cross``, ``kron``, ``meshgrid``, and the gradient-free ``nonzero`` and ``unique``.

None is a primitive: each is an index gather (getitem, gather), a masked where, or a product and
reshape, so its gradient is that of the primitives: a gathered element sends g back to where it
came from (summed over repeats), a masked-out element receives 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._tensor_base import lift
from ..ops.dims import normalize_dims
from ..ops.elementwise import where
from ..ops.index import gather, scatter_add
from ..ops.shape import (
    cat,
    expand,
    getitem,
    narrow,
    pad,
    permute,
    reshape,
    stack,
    unsqueeze,
)

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _dim(op: str, dim: int, ndim: int) -> int:
    return normalize_dims(op, dim, ndim)[0] if ndim else 0  # a 0-d tensor accepts dim 0 and -1


def _tri(op: str, x: Tensor, diagonal: int, lower: bool) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{op}: expected a tensor with at least 2 dims, got shape {x.shape}")
    r, c = x.shape[-2:]
    keep = np.tri(r, c, diagonal, dtype=bool) if lower else ~np.tri(r, c, diagonal - 1, dtype=bool)
    return where(Tensor._wrap(keep), x, 0.0 if x._data.dtype.kind == "f" else 0)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The elements on and below the ``diagonal``-th diagonal of the last two dims; 0 above."""
    return _tri("tril", lift(input), diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The elements on and above the ``diagonal``-th diagonal of the last two dims; 0 below."""
    return _tri("triu", lift(input), diagonal, False)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The elements x[..., i, i + offset, ...] of dims ``dim1`` and ``dim2``, as a last dim."""
    x = lift(input)
    d1, d2 = _dim("diagonal", dim1, x.ndim), _dim("diagonal", dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
    rest = [d for d in range(x.ndim) if d not in (d1, d2)]
    x = permute(x, tuple(rest + [d1, d2]))
    n1, n2 = x.shape[-2:]
    i = np.arange(max(0, -offset), min(n1, n2 - offset)) if n1 and n2 else np.arange(0)
    return getitem(x, (Ellipsis, i, i + offset))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input becomes a matrix with it on the ``diagonal``-th diagonal; a 2-D input gives
    that diagonal."""
    x = lift(input)
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    if x.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")
    n, k = x.shape[0], diagonal
    m = n + abs(k)
    on = np.zeros((m, m), bool)
    i = np.arange(n)
    on[i + max(0, -k), i + max(0, k)] = True
    # the padded vector holds v[i] at the row (k >= 0) or column (k < 0) of its diagonal entry
    v = pad(x, (0, abs(k)))
    return where(Tensor._wrap(on), v.reshape(m, 1) if k >= 0 else v.reshape(1, m), 0.0)


_diagonal = diagonal  # diag's argument named `diagonal` (torch's name) shadows the function


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    x = lift(input)
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {x.shape}")
    return diagonal(x).sum()


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """a_i b_j for vectors a, b."""
    a, b = lift(input), lift(vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return unsqueeze(a, 1) * unsqueeze(b, 0)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements circularly: out[(i + s) mod n] = x[i] along each dim (all elements in
    flattened order when ``dims`` is None)."""
    x = lift(input)
    if dims is None:
        return reshape(roll(reshape(x, (-1,)), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    for s, d in zip(shifts, dims):
        d = _dim("roll", d, x.ndim)
        n = x.shape[d]
        if n:
            x = getitem(x, (slice(None),) * d + ((np.arange(n) - s) % n,))
    return x


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Repeat the whole tensor ``dims[i]`` times along each dim (leading 1s added to whichever
    of the two is shorter, as torch)."""
    x = lift(input)
    dims = tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return x.repeat(*dims)


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``
    (of the flattened input when None): [a, b] -> [a, a, b, b]."""
    x = lift(input)
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    d = _dim("repeat_interleave", dim, x.ndim)
    reps = lift(repeats)._data if not isinstance(repeats, (int, np.integer)) else int(repeats)
    n = x.shape[d]
    if np.any(np.asarray(reps) < 0) or (np.ndim(reps) == 1 and np.size(reps) != n):
        raise RuntimeError(
            f"repeat_interleave: repeats {np.asarray(reps).tolist()} must be "
            f"non-negative, one int or one per element of dim {d} (size {n})"
        )
    return getitem(x, (slice(None),) * d + (np.repeat(np.arange(n), reps),))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim`` (input and indices broadcast on the other dims); of
    the flattened input when ``dim`` is None."""
    x, idx = lift(input), lift(indices)
    if dim is None:
        return gather(reshape(x, (-1,)), 0, reshape(idx, (-1,)))
    d = _dim("take_along_dim", dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError(
            f"take_along_dim: input {x.shape} and indices {idx.shape} must have "
            "the same number of dims"
        )
    xs, ix = list(x.shape), list(idx.shape)
    xs[d] = ix[d] = 1
    try:
        common = list(np.broadcast_shapes(tuple(xs), tuple(ix)))
    except ValueError:
        raise RuntimeError(
            f"take_along_dim: input {x.shape} and indices {idx.shape} do not "
            f"broadcast outside dim {d}"
        ) from None
    x = expand(x, tuple(common[:d] + [x.shape[d]] + common[d + 1 :]))
    idx = Tensor._wrap(
        np.broadcast_to(idx._data, tuple(common[:d] + [idx.shape[d]] + common[d + 1 :])).copy()
    )
    return gather(x, d, idx)


def diff(
    input: Tensor,
    n: int = 1,
    dim: int = -1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """The n-th forward difference x[i + 1] - x[i] along ``dim`` (after concatenating
    ``prepend`` and ``append``)."""
    x = lift(input)
    d = _dim("diff", dim, x.ndim)
    parts = [t for t in (prepend, x, append) if t is not None]
    if len(parts) > 1:
        x = cat([lift(t, x) for t in parts], d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        x = narrow(x, d, 1, m - 1) - narrow(x, d, 0, m - 1)
    return x


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the first dim of size 3 when None, as
    torch.cross): (a2 b3 - a3 b2, a3 b1 - a1 b3, a1 b2 - a2 b1)."""
    a, b = lift(input), lift(other)
    if a.shape != b.shape:
        shape = np.broadcast_shapes(a.shape, b.shape)
        a, b = expand(a, shape), expand(b, shape)
    if dim is None:
        sizes = [i for i, n in enumerate(a.shape) if n == 3]
        if not sizes:
            raise RuntimeError(f"cross: no dimension of size 3 in shape {a.shape}")
        dim = sizes[0]
    d = _dim("cross", dim, a.ndim)
    if a.shape[d] != 3:
        raise RuntimeError(f"cross: dimension {d} must have size 3, got shape {a.shape}")
    ai = [narrow(a, d, i, 1) for i in range(3)]
    bi = [narrow(b, d, i, 1) for i in range(3)]
    return cat(
        [
            ai[1] * bi[2] - ai[2] * bi[1],
            ai[2] * bi[0] - ai[0] * bi[2],
            ai[0] * bi[1] - ai[1] * bi[0],
        ],
        d,
    )


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: block (i, j) of the result is a[i, j] * b (any number of dims)."""
    a, b = lift(input), lift(other)
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    # a with a size-1 dim after each of its dims, b with one before each: their product
    # interleaves (a_0, b_0, a_1, b_1, ...), which merges pairwise into the Kronecker layout
    ai = reshape(a, tuple(v for n in a.shape for v in (n, 1)))
    bi = reshape(b, tuple(v for n in b.shape for v in (1, n)))
    return reshape(ai * bi, tuple(m * n for m, n in zip(a.shape, b.shape)))


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors; ``indexing='xy'`` swaps the first two output dims."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [lift(t) for t in tensors]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-D or 1-D tensors, got shape {t.shape}")
    sizes = [t.numel() for t in ts]
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[i] for i in order)
    out = []
    for k, t in enumerate(ts):
        pos = order.index(k)
        view = [1] * len(ts)
        view[pos] = sizes[k]
        out.append(expand(reshape(t, tuple(view)), shape))
    return tuple(out)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one index tensor per dim.
    Not differentiable (indices)."""
    idx = np.nonzero(lift(input)._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    return Tensor._wrap(
        np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64)
    )


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,  # noqa: A002
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values (sorted), and optionally where each input element went and how many
    times each value occurs. Not differentiable."""
    a = lift(input)._data
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=dim)
    out = [Tensor._wrap(values)]
    if return_inverse:
        shape = a.shape if dim is None else (a.shape[dim],)
        out.append(Tensor._wrap(inverse.reshape(shape).astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(
    input: Tensor,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The input with each run of equal consecutive values (or slices along ``dim``) kept once,
    and optionally the run each element belongs to and the length of each run, as torch's.
    Not differentiable."""
    a = lift(input)._data
    if dim is not None:
        dim = normalize_dims("unique_consecutive", dim, a.ndim)[0]
    flat = a.reshape(-1) if dim is None else np.moveaxis(a, dim, 0)
    n = flat.shape[0]
    if n < 2:
        starts = np.zeros(n, np.int64)
    else:
        same = (flat[1:] == flat[:-1]).reshape(n - 1, -1).all(axis=1)
        starts = np.concatenate([[0], np.nonzero(~same)[0] + 1]).astype(np.int64)
    values = flat[starts] if dim is None else np.moveaxis(flat[starts], 0, dim)
    out = [Tensor._wrap(np.ascontiguousarray(values))]
    if return_inverse:
        run = np.zeros(n, np.int64)
        run[starts[1:]] = 1
        out.append(Tensor._wrap(np.cumsum(run).reshape(a.shape if dim is None else (n,))))
    if return_counts:
        out.append(Tensor._wrap(np.diff(np.append(starts, n)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


__all__ = [
    "tril",
    "triu",
    "diagonal",
    "diag",
    "trace",
    "outer",
    "roll",
    "tile",
    "repeat_interleave",
    "take_along_dim",
    "diff",
    "cross",
    "kron",
    "meshgrid",
    "nonzero",
    "unique",
    "unique_consecutive",
]


# ---- moving, stacking and splitting ------------------------------------------------------------


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    return lift(input).transpose(axis0, axis1)


swapdims = swapaxes


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """x[..., index, ...] at ``dim`` (that dim removed)."""
    x = lift(input)
    d = _dim("select", dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range for dim {d} of size {n}")
    return getitem(x, (slice(None),) * d + (int(index),))


def atleast_1d(*tensors: Any) -> Any:
    out = [reshape(t, (1,)) if lift(t).ndim == 0 else lift(t) for t in _seq(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors: Any) -> Any:
    out = []
    for t in _seq(tensors):
        t = lift(t)
        out.append(reshape(t, (1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors: Any) -> Any:
    out = []
    for t in _seq(tensors):
        t = lift(t)
        if t.ndim == 0:
            t = reshape(t, (1, 1, 1))
        elif t.ndim == 1:
            t = reshape(t, (1, t.shape[0], 1))
        elif t.ndim == 2:
            t = unsqueeze(t, -1)
        out.append(t)
    return out[0] if len(out) == 1 else tuple(out)


def _seq(tensors: tuple) -> tuple:
    return (
        tuple(tensors[0])
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
        else tensors
    )


def hstack(tensors: Sequence[Any]) -> Tensor:
    ts = [lift(t) for t in atleast_1d(*tensors)] if len(tensors) > 1 else [atleast_1d(tensors[0])]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    ts = atleast_2d(*tensors)
    return cat(list(ts) if isinstance(ts, tuple) else [ts], 0)


def dstack(tensors: Sequence[Any]) -> Tensor:
    ts = atleast_3d(*tensors)
    return cat(list(ts) if isinstance(ts, tuple) else [ts], 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    ts = [lift(t) for t in tensors]
    ts = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in ts]
    return cat(ts, 1)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees k times in the plane of ``dims``, from the first towards the
    second."""
    x = lift(input)
    if len(dims) != 2 or x.ndim < 2:
        raise RuntimeError(
            f"rot90: expected two dims of a tensor with at least 2 dims, got "
            f"dims={tuple(dims)} for shape {x.shape}"
        )
    d0, d1 = (_dim("rot90", d, x.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: dims must differ, got {tuple(dims)}")
    k %= 4
    if k == 1:
        return x.flip(d1).transpose(d0, d1)
    if k == 2:
        return x.flip((d0, d1))
    if k == 3:
        return x.flip(d0).transpose(d0, d1)
    return x


def flipud(input: Tensor) -> Tensor:
    return lift(input).flip(0)


def fliplr(input: Tensor) -> Tensor:
    x = lift(input)
    if x.ndim < 2:
        raise RuntimeError(f"fliplr: expected a tensor with at least 2 dims, got {x.shape}")
    return x.flip(1)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into n nearly equal parts (the first n mod size ones longer by 1), or at the given
    indices, as numpy.array_split."""
    x = lift(input)
    d = _dim("tensor_split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k < 1:
            raise RuntimeError(f"tensor_split: number of sections must be >= 1, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    else:
        cuts = [min(max(int(i), 0), n) for i in indices_or_sections]
        bounds = np.array([0, *cuts, n])
    return tuple(
        narrow(x, d, int(a), max(int(b) - int(a), 0)) for a, b in zip(bounds[:-1], bounds[1:])
    )


def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    ts = [lift(t) for t in tensors]
    shape = np.broadcast_shapes(*[t.shape for t in ts])
    return tuple(expand(t, shape) for t in ts)


def block_diag(*tensors: Any) -> Tensor:
    """The matrices (scalars and vectors count as 1 x 1 and 1 x n) on the diagonal of one
    block matrix, zeros elsewhere."""
    ts = []
    for t in tensors:
        t = lift(t)
        if t.ndim > 2:
            raise RuntimeError(f"block_diag: expected tensors of at most 2 dims, got {t.shape}")
        ts.append(
            reshape(t, (1, 1) if t.ndim == 0 else (1, t.shape[0]) if t.ndim == 1 else t.shape)
        )
    if not ts:
        return Tensor._wrap(np.zeros((0, 0)))
    width = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        rows.append(pad(t, (left, width - left - t.shape[1])))
        left += t.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors: Any) -> Tensor:
    """All combinations of the elements of the 1-D inputs, one per row."""
    ts = [lift(t) for t in tensors]
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


# ---- scatters and masks -------------------------------------------------------------------------


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where the (broadcast) boolean mask is True, as a 1-D tensor."""
    x, m = lift(input), lift(mask)
    if m._data.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected a boolean mask, got {m.dtype}")
    shape = np.broadcast_shapes(x.shape, m.shape)
    return getitem(expand(x, shape), np.broadcast_to(m._data, shape))


def index_add(
    input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1
) -> Tensor:
    """out = input with alpha * source[..., i, ...] added at position index[i] of ``dim``
    (repeated indices accumulate)."""
    x, s, idx = lift(input), lift(source), lift(index)._data
    d = _dim("index_add", dim, x.ndim)
    if idx.ndim != 1 or s.ndim != x.ndim or s.shape[d] != len(idx):
        raise RuntimeError(
            f"index_add: source {s.shape} must match input {x.shape} with "
            f"len(index) = {len(idx) if idx.ndim == 1 else idx.shape} at dim {d}"
        )
    view = [1] * x.ndim
    view[d] = len(idx)
    full = Tensor._wrap(np.broadcast_to(idx.reshape(view), s.shape).astype(np.int64))
    return scatter_add(x, d, full, s * alpha if alpha != 1 else s)


def scatter(
    input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None
) -> Tensor:
    """out = input with out[..., index[..., j, ...], ...] = src[..., j, ...] along ``dim`` (or
    the scalar ``value``). The gradient reaches input where nothing was written and src at what
    it wrote."""
    x, idx = lift(input), lift(index)
    if src is None and value is None:
        raise TypeError("scatter: give src or value")
    d = _dim("scatter", dim, x.ndim)
    written = np.zeros(x.shape, bool)
    np.put_along_axis(written, idx._data, True, axis=d)
    # where an index repeats, the last write wins (as torch's CPU loop): keep only that source
    view = [1] * idx.ndim
    view[d] = idx.shape[d]
    order = np.broadcast_to(np.arange(idx.shape[d]).reshape(view), idx.shape)
    winner = np.full(x.shape, -1)
    np.put_along_axis(winner, idx._data, order, axis=d)
    last = Tensor._wrap(order == np.take_along_axis(winner, idx._data, axis=d))
    zero = Tensor._wrap(np.zeros(x.shape, x._data.dtype))
    s = lift(src if src is not None else value, x)
    if s.ndim == 0:
        s = expand(s, idx.shape)
    elif s.shape != idx.shape:
        s = getitem(s, tuple(slice(0, n) for n in idx.shape))  # torch reads src's leading part
    s = where(last, s, 0.0)
    return where(Tensor._wrap(written), scatter_add(zero, d, idx, s), x)


def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """out = input with the elements of src at index[..., j, ...] along ``dim`` reduced into
    each position ("sum", "mean", "amax", "amin"; the input's own value taking part where
    ``include_self``); positions no index names keep input. torch's gradients: sum and mean
    send g (divided by the count, for mean) to every contributor; amax / amin send g divided by
    the number of contributors equal to the result to each of them (ties share it), 0 to the
    rest. "prod" is not here (its gradient at zeros needs a primitive)."""
    x, idx, s = lift(input), lift(index), lift(src, input)
    if reduce not in ("sum", "mean", "amax", "amin"):
        raise RuntimeError(
            f"scatter_reduce: reduce must be 'sum', 'mean', 'amax' or 'amin', got {reduce!r}"
            + (" ('prod' is not supported)" if reduce == "prod" else "")
        )
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"scatter_reduce: a floating-point input is needed, got {x.dtype}")
    d = _dim("scatter_reduce", dim, x.ndim)
    if idx.shape != s.shape:
        s = getitem(s, tuple(slice(0, n) for n in idx.shape))  # torch reads src's leading part
    ix = idx._data
    written = np.zeros(x.shape, bool)
    np.put_along_axis(written, ix, True, axis=d)
    keep = Tensor._wrap(~written | include_self)  # where input takes part (or is untouched)
    zero = Tensor._wrap(np.zeros(x.shape, x._data.dtype))
    if reduce in ("sum", "mean"):
        total = where(keep, x, 0.0) + scatter_add(zero, d, idx, s)
        if reduce == "sum":
            return total
        count = np.zeros(x.shape, x._data.dtype)
        np.add.at(count, _full_index(ix, d), 1)
        count += keep._data & written
        return where(Tensor._wrap(written), total / Tensor._wrap(np.maximum(count, 1)), x)
    # amax / amin: the value from NumPy, the gradient shared by the contributors equal to it
    pick = np.maximum if reduce == "amax" else np.minimum
    start = np.where(keep._data, x._data, -np.inf if reduce == "amax" else np.inf)
    best = start.astype(x._data.dtype)
    pick.at(best, _full_index(ix, d), s._data)
    eq_self = keep._data & (x._data == best)
    at_src = np.take_along_axis(best, ix, axis=d)
    eq_src = s._data == at_src
    # torch counts the input among the ties even where include_self=False leaves it out of the
    # result (and then gives it no gradient): the same count, so the same shares
    ties = (x._data == best).astype(x._data.dtype)
    np.add.at(ties, _full_index(ix, d), eq_src)
    share = Tensor._wrap(np.maximum(ties, 1))
    spread = where(Tensor._wrap(eq_self), x, 0.0) / share + scatter_add(
        zero, d, idx, where(Tensor._wrap(eq_src), s, 0.0) / _take_along(share, ix, d)
    )
    # the exact extreme as the value, the shared gradient through a term worth 0
    return where(Tensor._wrap(written), Tensor._wrap(best) + (spread - spread.detach()), x)


def _full_index(ix: np.ndarray, d: int) -> tuple:
    """The index tuple of every element of ``ix`` with its dim ``d`` replaced by ix's values."""
    grids: list[Any] = list(np.indices(ix.shape, sparse=True))
    grids[d] = ix
    return tuple(grids)


def _take_along(t: Tensor, ix: np.ndarray, d: int) -> Tensor:
    return Tensor._wrap(np.take_along_axis(t._data, ix, axis=d))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    a = lift(input)._data
    return Tensor._wrap(np.asarray(np.count_nonzero(a, axis=dim)).astype(np.int64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def isin(elements: Any, test_elements: Any, *, invert: bool = False) -> Tensor:
    e, t = lift(elements)._data, lift(test_elements)._data
    return Tensor._wrap(np.isin(e, t, invert=invert))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    a = lift(input)._data
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a.size and a.min() < 0):
        raise RuntimeError(
            f"bincount: expected a 1-D tensor of non-negative ints, got shape {a.shape} {a.dtype}"
        )
    w = None if weights is None else lift(weights)._data
    out = np.bincount(a, w, minlength)
    return Tensor._wrap(out if w is not None else out.astype(np.int64))


def searchsorted(
    sorted_sequence: Tensor,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """For each value, the index where it would be inserted to keep the sequence sorted (the
    leftmost, or the rightmost with ``right=True``); a 1-D sequence, or one per leading index."""
    seq = lift(sorted_sequence)._data
    v = lift(input)._data
    if side not in (None, "left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    how: Literal["left", "right"] = (
        "right" if side == "right" or (side is None and right) else "left"
    )
    if sorter is not None:
        seq = np.take_along_axis(seq, lift(sorter)._data, -1)
    if seq.ndim == 1:
        out = np.searchsorted(seq, v, side=how)
    else:
        if seq.shape[:-1] != v.shape[:-1]:
            raise RuntimeError(
                f"searchsorted: leading dims of the sequence {seq.shape} and the "
                f"values {v.shape} must match"
            )
        flat_s, flat_v = seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1])
        out = np.stack([np.searchsorted(s, x, side=how) for s, x in zip(flat_s, flat_v)])
        out = out.reshape(v.shape)
    return Tensor._wrap(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(
    input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The bucket of each value among the 1-D ``boundaries``."""
    b = lift(boundaries)
    if b.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got shape {b.shape}")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = np.int64) -> Tensor:
    return Tensor._wrap(np.stack(np.tril_indices(row, offset, col)).astype(dtype))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = np.int64) -> Tensor:
    return Tensor._wrap(np.stack(np.triu_indices(row, offset, col)).astype(dtype))


def numel(input: Tensor) -> int:
    return lift(input).numel()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Dim ``dim`` split into ``sizes`` (one entry may be -1, inferred): a reshape."""
    x = lift(input)
    shape = list(x.shape)
    d = dim % x.ndim if x.ndim else 0
    given = tuple(int(s) for s in sizes)
    sizes = list(given)
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    if sizes.count(-1) == 1 and known:
        sizes[sizes.index(-1)] = shape[d] // known
    n = 1
    for s in sizes:
        n *= s
    if n != shape[d] or sizes.count(-1) > 1:
        raise RuntimeError(
            f"unflatten: sizes {given} do not multiply to the size {shape[d]} of dim {dim} "
            f"(input shape {tuple(x.shape)})"
        )
    return x.reshape(tuple(shape[:d] + sizes + shape[d + 1 :]))


__all__ += [
    "scatter_reduce",
    "unflatten",
    "swapaxes",
    "swapdims",
    "select",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "rot90",
    "flipud",
    "fliplr",
    "tensor_split",
    "broadcast_tensors",
    "block_diag",
    "cartesian_prod",
    "masked_select",
    "index_add",
    "scatter",
    "count_nonzero",
    "argwhere",
    "isin",
    "bincount",
    "searchsorted",
    "bucketize",
    "tril_indices",
    "triu_indices",
    "numel",
    "is_tensor",
]
