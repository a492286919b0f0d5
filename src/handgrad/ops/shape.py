"""Shape and indexing primitives. Each moves elements without changing them, so its backward
moves the gradient back: reshape <-> reshape, permute <-> inverse permute, expand <-> sum,
flip <-> flip, cat <-> slices, getitem <-> index_accumulate, pad <-> slice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from ._scatter import add_at
from .dims import normalize_dims

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _dim(op: str, dim: int, ndim: int) -> int:
    return normalize_dims(op, dim, ndim)[0] if ndim else 0


class Reshape(Function):
    """out = a with a new shape (same elements in the same order).  dL/da = g reshaped back."""

    name = "reshape"
    uses_inputs = False
    is_view = True

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape {tuple(shape)} is invalid for input of shape {a.shape} "
                f"({a.size} elements)"
            ) from None

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    """out[i_p0, i_p1, ...] = a[i_0, i_1, ...] (dimensions reordered by ``dims``).
    dL/da = g permuted by the inverse permutation (argsort of dims)."""

    name = "permute"
    uses_inputs = False
    is_view = True

    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return g.permute(tuple(np.argsort(self.dims).tolist()))


class Expand(Function):
    """out = a broadcast to ``shape``. Each element of a is copied to several outputs, so its
    gradient is the sum of theirs: dL/da = sum of g over the broadcast dimensions (the engine's
    unbroadcast does exactly that).

    Large outputs are a read-only view (no copy); small ones are materialised, because
    np.broadcast_to's fixed cost (about 5 us) exceeds copying a few thousand numbers."""

    name = "expand"
    uses_inputs = False
    is_view = True

    def forward(self, a, shape):
        try:
            if a.size == 1 and len(shape) <= 4 and _numel(shape) <= 4096:
                return np.full(shape, a.reshape(()), dtype=a.dtype)
            return np.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(
                f"expand: tensor of shape {a.shape} cannot be expanded to {tuple(shape)} "
                "(only dimensions of size 1 can be expanded, and new ones only in front)"
            ) from None

    def backward(self, g):
        return g  # summed back to the input's shape by the engine


class Flip(Function):
    """out = a reversed along ``dims``.  dL/da = g reversed along the same dims."""

    name = "flip"
    uses_inputs = False

    def forward(self, a, dims):
        self.dims = dims
        return np.flip(a, dims).copy()

    def backward(self, g):
        return g.flip(self.dims)


class Cat(Function):
    """out = the inputs joined along ``dim``.  dL/da_k = the slice of g that a_k filled.
    torch's cat_tensors_backward gives an input of shape (0,) a constant at::zeros({0}), with no
    graph back to g (a second derivative through it is 0, not 0 times a NaN or inf after it; fuzz
    seed 238756618); a 1-d empty output has only such inputs, so the engine's empty-output
    gradient is not tied to g either (``constant_gradient``)."""

    name = "cat"
    uses_inputs = False

    def forward(self, *arrays, dim):
        self.dim, self.sizes = dim, [a.shape[dim] for a in arrays]
        self.constant_gradient = arrays[0].ndim == 1 and not sum(self.sizes)
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        out, start, lead = [], 0, (slice(None),) * self.dim
        for n, need in zip(self.sizes, self.needs_input_grad):
            gi = g[lead + (slice(start, start + n),)]
            out.append(None if not need else gi if n or g.ndim > 1 else gi.detach())
            start += n
        return tuple(out)


class GetItem(Function):
    """out = a[index] (basic, advanced and boolean indexing, NumPy semantics).
    Every out element is one a element, so dL/da = zeros with g added at the index
    (``index_accumulate``; repeated indices add up)."""

    name = "getitem"
    uses_inputs = False
    is_view = True

    def forward(self, a, index):
        self.index, self.shape = index, a.shape
        try:
            return a[index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor shape {a.shape})") from None

    def backward(self, g):
        return IndexAccumulate.apply(g, index=self.index, shape=self.shape)


class IndexAccumulate(Function):
    """out = zeros(shape) with g added at ``index``: the backward of getitem.
    It is linear in g and out[index] picks g back, so dL/dg = gg[index] (getitem again)."""

    name = "index_accumulate"
    uses_inputs = False

    def forward(self, g, index, shape, accumulate=True):
        self.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if not accumulate or _is_basic(index):
            out[index] = g  # basic indexing never repeats an element
        else:
            add_at(out, index, g)
        return out

    def backward(self, gg):
        return gg[self.index]


class Pad(Function):
    """out = a with ``value`` added around it (``widths`` per dim, numpy.pad order).
    The padding is constant, so dL/da = the centre of g, the slice where a was copied."""

    name = "pad"
    uses_inputs = False

    def forward(self, a, widths, value):
        self.centre = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape))
        return np.pad(a, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.centre]


def _numel(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# ---- index normalisation -----------------------------------------------------------------------


def _is_basic(index: tuple) -> bool:
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index)


def _index(index: Any, shape: tuple | None = None) -> tuple:
    """A NumPy index tuple: tensors become arrays, boolean masks their ``nonzero()`` (equivalent,
    and it lets the backward use np.add.at). With the indexed ``shape``, a boolean mask must
    match the dims it covers (NumPy's nonzero would silently index with a shorter mask)."""
    if not isinstance(index, tuple):
        index = (index,)
    if shape is not None:
        _check_masks(index, shape)
    out: list = []
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
        elif isinstance(i, list):
            i = np.asarray(i)
            if i.dtype.kind == "f":
                raise IndexError("getitem: tensors used as indices must be long or bool")
        if isinstance(i, np.ndarray):
            if i.dtype == np.bool_:
                out.extend(np.nonzero(i))
                continue
            if i.dtype.kind not in "iu":
                raise IndexError(
                    f"getitem: tensors used as indices must be long or bool, got {i.dtype}"
                )
        out.append(i)
    return tuple(out)


def _check_masks(index: tuple, shape: tuple) -> None:
    def width(i: Any) -> int:
        if i is None or i is Ellipsis:
            return 0
        a = i._data if isinstance(i, Tensor) else i
        if isinstance(a, (np.ndarray, list)):
            a = np.asarray(a)
            return a.ndim if a.dtype == np.bool_ else 1
        return 0 if isinstance(a, (bool, np.bool_)) else 1

    used = sum(width(i) for i in index)
    d = 0
    for i in index:
        if i is Ellipsis:
            d += max(len(shape) - used, 0)
            continue
        a = i._data if isinstance(i, Tensor) else i
        if isinstance(a, (np.ndarray, list)) and np.asarray(a).dtype == np.bool_:
            m = np.asarray(a)
            if m.ndim and tuple(shape[d : d + m.ndim]) != m.shape:
                raise IndexError(
                    f"getitem: the boolean mask of shape {m.shape} does not match the indexed "
                    f"tensor's shape {tuple(shape[d : d + m.ndim])} at dim {d} (tensor shape "
                    f"{tuple(shape)})"
                )
        d += width(i)


# ---- functions ---------------------------------------------------------------------------------


def _shape_arg(shape: Sequence) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    if shape == input._data.shape:
        return input
    return Reshape.apply(input, shape=shape)


view = reshape


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def permute(input: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims)
    if len(dims) != input.ndim or sorted(d % max(input.ndim, 1) for d in dims) != list(
        range(input.ndim)
    ):
        raise RuntimeError(
            f"permute: dims {dims} are not a permutation of the {input.ndim} dims of a tensor of "
            f"shape {input.shape}"
        )
    return Permute.apply(input, dims=tuple(d % input.ndim for d in dims))


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    x = lift(input)
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {src} and destination {dst} differ in length")
    src = tuple(_dim("movedim", d, x.ndim) for d in src)
    dst = tuple(_dim("movedim", d, x.ndim) for d in dst)
    rest = iter(d for d in range(x.ndim) if d not in src)
    where_to = dict(zip(dst, src))
    return permute(x, tuple(where_to[i] if i in where_to else next(rest) for i in range(x.ndim)))


moveaxis = movedim


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input.ndim
    if n < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return input
    d0, d1 = _dim("transpose", dim0, n), _dim("transpose", dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, dims=tuple(dims))


def t(input: Tensor) -> Tensor:
    return transpose(input, 0, 1) if input.ndim == 2 else input


def expand(input: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    lead = len(shape) - input.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes ({len(shape)}) must be at least the number of dims of "
            f"the tensor ({input.ndim}, shape {input.shape})"
        )
    shape = tuple(
        input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape)
    )
    if shape == input._data.shape:
        return input
    return Expand.apply(input, shape=shape)


broadcast_to = expand


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        dims = normalize_dims("squeeze", dim, input.ndim)
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in dims and n == 1))
    return reshape(input, shape)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    n = input.ndim + 1
    if not -n <= dim < n:
        raise IndexError(
            f"unsqueeze: dim {dim} is out of range for a tensor of {input.ndim} dims "
            f"(expected in [{-n}, {n - 1}])"
        )
    d = dim % n
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if input.ndim == 0:
        return reshape(input, (1,))
    s, e = _dim("flatten", start_dim, input.ndim), _dim("flatten", end_dim, input.ndim)
    shape = input.shape[:s] + (int(np.prod(input.shape[s : e + 1])),) + input.shape[e + 1 :]
    return reshape(input, shape)


def flip(input: Tensor, dims: Any) -> Tensor:
    return Flip.apply(input, dims=normalize_dims("flip", dims, input.ndim))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [lift(t) for t in tensors]
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    d = _dim("cat", dim, tensors[0].ndim)
    ref = tensors[0].shape
    for k, x in enumerate(tensors):
        if x.ndim != len(ref) or x.shape[:d] + x.shape[d + 1 :] != ref[:d] + ref[d + 1 :]:
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {d}: tensor 0 has shape "
                f"{ref} but tensor {k} has shape {x.shape}"
            )
    dtype = np.result_type(*[x._data for x in tensors])
    tensors = [x if x.dtype == dtype else x.to(dtype) for x in tensors]
    return Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [lift(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    shapes = {x.shape for x in tensors}
    if len(shapes) != 1:
        raise RuntimeError(f"stack: expects each tensor to be equal size, got shapes {shapes}")
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def getitem(input: Tensor, index: Any) -> Tensor:
    return GetItem.apply(input, index=_index(index, input.shape))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``length`` elements from ``start`` along ``dim`` (a negative start counts from the end);
    a range past the end is an error, as in torch, not a silent truncation."""
    d = _dim("narrow", dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not -n <= start <= n:
        raise IndexError(
            f"narrow: start {start} is out of range for dim {d} of size {n} "
            f"(expected in [{-n}, {n}])"
        )
    start = start % n if start < 0 else start
    if length < 0 or start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds the size {n} of "
            f"dim {d} (tensor shape {input.shape})"
        )
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))


def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    d = _dim("split", dim, input.ndim)
    n = input.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split: sections {sizes} sum to {sum(sizes)}, but dim {d} has size {n}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(input, d, start, s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    d = _dim("chunk", dim, input.ndim)
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be greater than 0, got {chunks}")
    n = input.shape[d]
    if n == 0:  # torch: one empty chunk
        return (getitem(input, (slice(None),) * d + (slice(0, 0),)),)
    return split(input, -(-n // chunks), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    d = _dim("unbind", dim, input.ndim)
    return tuple(getitem(input, (slice(None),) * d + (i,)) for i in range(input.shape[d]))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    d = _dim("index_select", dim, input.ndim)
    return getitem(input, (slice(None),) * d + (lift(index)._data,))


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes`` times along each dim (composed of expand and reshape)."""
    sizes = _shape_arg(sizes)
    x = reshape(input, (1,) * (len(sizes) - input.ndim) + input.shape)
    inter, final = [], []
    for r, n in zip(sizes, x.shape):
        inter += [r, n]
        final.append(r * n)
    x = reshape(x, tuple(v for n in x.shape for v in (1, n)))
    out = reshape(expand(x, tuple(inter)), tuple(final))
    if 0 in sizes:
        return EmptyConstantGradient.apply(input, shape=out.shape)
    return out


class EmptyConstantGradient(Function):
    """Zeros of ``shape`` that depend on the input ``a`` with derivative 0: out = 0 for every a,
    so dL/da = 0 g = zeros of a's shape, selected (``np.zeros``), not multiplied (g may hold inf
    or NaN), and a constant, with no graph back to g.

    Used for an empty result whose torch gradient is a constant: ``repeat`` with a count of 0
    (repeat_backward: at::zeros) and ``cummax``/``cummin`` of an empty input (cummaxmin_backward
    returns the input). Computed as a sum over the empty output instead, the zeros would keep a
    graph edge back to g, and a second derivative would carry its 0 back through the steps
    before: 0 times a NaN there (the mean of an empty tensor) is NaN where torch gives 0 (fuzz
    seeds 22310359, 22336174).

    And by the engine for the recorded gradient gi of an input of a node with an empty output
    (``create_graph``): ``apply(gi, shape=gi.shape)`` keeps gi's graph, which is torch's (a
    Linear's weight gradient g^T x requires grad through x, as torch's does), with the exact value
    of a sum over nothing, 0, whatever the formula computed (0 times an inf of a weight is NaN),
    and a second derivative through it the selected 0 of torch's empty sums."""

    name = "empty_constant_gradient"
    uses_inputs = False
    constant_gradient = True

    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.zeros(shape, a.dtype)

    def backward(self, g):
        return Tensor._wrap(np.zeros(self.in_shape, g.dtype))


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_source(mode: str, n: int, lo: int, hi: int) -> np.ndarray:
    """For each output position j in [-lo, n + hi) along one dim, the input position it copies:
    reflect mirrors about the edge element (period 2(n - 1)), replicate repeats the edge,
    circular wraps around. A negative width starts (or ends) the range inside the input."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    period = 2 * (n - 1)
    j = np.abs(j) % period if period else np.zeros_like(j)
    return np.where(j < n, j, period - j)


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """``F.pad``: ``pad`` lists (left, right) widths from the last dimension backwards; negative
    widths crop. ``constant`` fills with ``value`` (0 by default); ``reflect``, ``replicate`` and
    ``circular`` copy input elements (PyTorch pads only the last 1-3 dims of a batched or
    unbatched input with them).

    The non-constant modes are a gather along each padded dim (output j copies input s(j)), so
    their gradient is the scatter-add of g back to s(j): an element copied k times receives the
    sum of k gradients. That is getitem's backward, and getitem gives it here."""
    x = lift(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: padding {tuple(pad)} must have an even length of at most 2 * {x.ndim}"
        )
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unknown padding mode {mode!r} (one of {_PAD_MODES})")
    k = len(pad) // 2
    widths = [(0, 0)] * x.ndim
    for i in range(k):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode in ("constant", "circular") and any(p < 0 for p in pad):
        # negative widths crop first; reflect and replicate crop in _pad_source instead (PyTorch
        # reflects about the uncropped edge)
        x = getitem(
            x, tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, x.shape))
        )
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return Pad.apply(x, widths=tuple(widths), value=0.0 if value is None else value)
    if value:
        raise ValueError(f"pad: padding mode {mode!r} does not take a fill value (got {value})")
    if not 1 <= k <= 3 or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: {mode} padding of {k} dim(s) needs a {k + 1}-D or {k + 2}-D input "
            f"(the last {k} dims padded), got shape {x.shape}"
        )
    for d in range(x.ndim - k, x.ndim):
        lo, hi = widths[d]
        n = x.shape[d]
        if mode == "reflect" and max(lo, hi) >= n:
            raise RuntimeError(
                f"pad: reflect padding {(lo, hi)} of dim {d} must be less than "
                f"its size {n} (input shape {x.shape})"
            )
        if mode == "circular" and max(lo, hi) > n:
            raise RuntimeError(
                f"pad: circular padding {(lo, hi)} of dim {d} wraps around more "
                f"than once (size {n}, input shape {x.shape})"
            )
        if lo or hi:
            x = getitem(x, (slice(None),) * d + (_pad_source(mode, n, lo, hi),))
    return x


__all__ = [
    "reshape",
    "view",
    "view_as",
    "permute",
    "movedim",
    "moveaxis",
    "transpose",
    "t",
    "expand",
    "broadcast_to",
    "expand_as",
    "squeeze",
    "unsqueeze",
    "flatten",
    "flip",
    "cat",
    "concatenate",
    "stack",
    "getitem",
    "narrow",
    "split",
    "chunk",
    "unbind",
    "index_select",
    "repeat",
    "pad",
]
