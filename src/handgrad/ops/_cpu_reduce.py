"""Which of -0.0 and +0.0 torch's CPU max reduction (``amax``, ``amin``) returns: the order in
which its kernel (ATen's cpu/Reduce.h) combines equal values, deterministically. And a product
over finite factors with a zero, exactly +-0 whatever order overflows."""

from __future__ import annotations

import numpy as np


def prod_zero_exact(a: np.ndarray, dims: tuple) -> np.ndarray:
    """The product of a over ``dims`` (keepdims). Finite factors with a zero among them give
    exactly +-0 (the parity of the factors' sign bits), where NumPy's order can overflow a
    partial product to inf first and multiply it by the zero: NaN (fuzz seed 693041358: 33
    factors from -3.8e19 to 1.7e28 with zeros in float32, torch -0)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.prod(a, axis=dims, keepdims=True)
    if a.dtype.kind != "f" or not a.size or not np.isnan(out).any():
        return out
    zero = (a == 0).any(axis=dims, keepdims=True) & np.isfinite(a).all(axis=dims, keepdims=True)
    odd = np.signbit(a).sum(axis=dims, keepdims=True) % 2 == 1
    return np.where(zero & np.isnan(out), np.where(odd, -0.0, 0.0).astype(a.dtype), out)


def sum_without_overflow(a: np.ndarray, dims: tuple, keepdim: bool, out: np.ndarray) -> np.ndarray:
    """``out`` (a's sum over ``dims``, which overflowed somewhere) with each slice of finite
    terms whose sum overflowed summed again scaled by a power of two at least its number of
    terms: exact but for subnormal terms, and finite wherever the exact sum is. A slice holding
    an inf or NaN keeps its own inf or NaN, and no longer decides for the others (fuzz seed
    1624993172: var's gradient by g, a row of +-4e307 terms whose exact sum 1.7e308 is finite,
    beside a row holding a NaN, stayed inf, and std's second derivative NaN where torch's is 0)."""
    scale = a.dtype.type(2.0 ** int(np.prod([a.shape[d] for d in dims])).bit_length())
    with np.errstate(over="ignore", invalid="ignore"):  # an exact sum beyond the largest is inf
        redo = (a / scale).sum(axis=dims, keepdims=keepdim) * scale
        # only the slices that overflowed: the scaled sum drops subnormal terms, which a finite
        # slice keeps (fuzz seed 1709526685: the mean of [-5e-324, 0] beside a slice of -inf
        # came out +0.0, torch's -0.0)
        over = ~np.isfinite(out) & np.isfinite(a).all(axis=dims, keepdims=keepdim)
        return np.where(over, redo, out)


def amax_zero_sign(a: np.ndarray, dims: tuple, kept: np.ndarray, mode: str) -> np.ndarray:
    """kept (a's maximum over ``dims``, keepdims) with each zero given the sign torch's amax gives
    it: of -0.0 and +0.0 the one its reduction keeps (NumPy's max keeps either; fuzz seed
    504934291: amax over (-0.0, 0.0) is -0.0 in torch). See ``_torch_max_keeps_negative_zero``.
    ``mode``: "torch" (amax), "first" (the sign of the slice's first zero, its scalar loop,
    whatever the layout) or "all" (``max()`` of the whole tensor, ``_torch_max_all_sign``)."""
    if mode == "all":
        return np.asarray(_torch_max_all_sign(a.ravel().tolist(), a.dtype), a.dtype).reshape(
            kept.shape
        )
    first = mode == "first"
    rest = [i for i in range(a.ndim) if i not in dims]
    t = a.transpose(rest + list(dims)).reshape([a.shape[i] for i in rest] + [-1])
    # torch's layout: the reduced dims of more than one element, when adjacent, are one
    # reduced dim; the kept dims after them, one contiguous column dim of ``inner`` elements
    big = [i for i in range(a.ndim) if a.shape[i] > 1]
    red = [i for i in big if i in dims]
    block = bool(red) and big[big.index(red[0]) : big.index(red[0]) + len(red)] == red
    inner = int(np.prod([a.shape[i] for i in big if red and i > red[-1]], dtype=np.int64))
    vec = 0 if first or not block else 32 // a.dtype.itemsize
    flat_kept, rows = kept.reshape(-1), t.reshape(-1, t.shape[-1])
    out = flat_kept.copy()
    for r in np.flatnonzero(flat_kept == 0):
        v = rows[r].tolist()
        if vec and inner > 1:
            # an outer reduction (``vectorized_outer_reduction``): the first 4 vec-wide blocks
            # of columns reduce with ``maximum`` row by row, which keeps the later of equal
            # values: the last zero; the remaining columns with std::max: the first zero
            last = r % inner < inner // (4 * vec) * (4 * vec)
            zeros = [x for x in v if x == 0]
            neg = bool(np.signbit(zeros[-1] if last else zeros[0]))
        else:
            neg = _torch_max_keeps_negative_zero(v, vec)
        out[r] = -0.0 if neg else 0.0
    return out.reshape(kept.shape)


def _torch_max_keeps_negative_zero(v: list, vec: int) -> bool:
    """Whether torch's max reduction of v (whose maximum is 0) returns -0.0. Its scalar loop
    (``max_impl``: std::max, which keeps the earlier of equal values) keeps the first zero; a
    contiguous slice of 4 ``vec`` elements or more (``vec`` lanes of 32 bytes, what torch 2.13's
    wheels run here; 0: not contiguous) is reduced first in blocks of 4 vectors by
    ``vectorized_inner_reduction``, whose ``maximum`` (_mm256_max) keeps the later of equal
    values lane by lane, then combines the four vectors the same way (0 with 1, 2 with 3, then
    the two), then the lanes with std::max, then the tail with std::max."""
    block = 4 * vec
    count = len(v) // block if vec else 0
    acc = -np.inf
    if count:
        lanes = v[:block]
        for i in range(1, count):
            lanes = [x if x > y else y for x, y in zip(lanes, v[i * block : (i + 1) * block])]
        q = [lanes[j * vec : (j + 1) * vec] for j in range(4)]
        q01 = [x if x > y else y for x, y in zip(q[0], q[1])]
        q23 = [x if x > y else y for x, y in zip(q[2], q[3])]
        tail = [x if x > y else y for x, y in zip(q01, q23)] + v[count * block :]
    else:
        tail = v
    for x in tail:  # std::max across the lanes, then along the tail
        acc = x if acc < x else acc
    return bool(np.signbit(acc))


def _torch_max_all_sign(v: list, dtype: np.dtype) -> float:
    """torch's ``max()`` of a whole tensor v (row-major, its maximum 0): -0.0 or +0.0. Its kernel
    (``reduce_all``, ATen's cpu/ReduceAllOpsKernel.cpp) reduces lanes of 32 bytes with
    ``maximum`` (_mm256_max: the second operand of equal values): fewer elements than lanes one
    by one in lane 0; else a whole-vector accumulator, block by block, the tail into its first
    lanes, then the lanes: float32 by the AVX2 shuffles (halves, then pairs, then neighbours),
    float64 one by one (fuzz seed 725021272: 18 float32 zeros of both signs, torch +0.0)."""

    def later(x: float, y: float) -> float:
        return x if x > y else y

    lanes = 32 // np.dtype(dtype).itemsize
    if len(v) < lanes:
        acc = v[0]
        for x in v[1:]:
            acc = later(acc, x)
        return acc
    body = len(v) - len(v) % lanes
    acc = v[:lanes]
    for d in range(lanes, body, lanes):
        acc = [later(x, y) for x, y in zip(acc, v[d : d + lanes])]
    tail = v[body:]
    acc = [later(x, y) for x, y in zip(acc, tail)] + acc[len(tail) :]
    if lanes == 8:  # the shuffles, of which lane 0 is kept
        b = [later(acc[i], acc[i + 4]) for i in range(4)]
        return later(later(b[0], b[2]), later(b[1], b[3]))
    out = acc[0]
    for x in acc[1:]:
        out = later(out, x)
    return out
