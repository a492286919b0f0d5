"""Selection of array elements, ``np.where(cond, a, b)`` bit for bit, without its per-element
branch: the forward of ``where`` and of the activations with two branches (sigmoid, silu, elu,
softplus), and every masking backward (relu, clamp, dropout, pooling)."""

from __future__ import annotations

import numpy as np

from . import _compiled
from ._blocks import flat_views, one_value, unflat
from .blas import flat_parts

_INT = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}

# A general selection runs over blocks of this many elements (its four passes then read a block
# from the core's cache); below _SELECT_SMALL elements, as np.where (one call costs less there:
# the blocks' Python costs about 10 us; 32768 float32 values 65 us against np.where's 151).
_SELECT_BLOCK = 1 << 16
_SELECT_SMALL = 1 << 13


def select(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.where(cond, a, b)``, bit for bit. ``np.where`` branches on each element, which costs
    up to 15 ns an element on a random mask (7.7 ms for 2M float32 values, 0.27 ms when the mask
    is all False); a selection of bits does not branch:

    - one side a +0.0 scalar and the other a float array of the result's shape (every masking
      backward: relu, clamp, dropout's mask...): the array's bits AND an all-ones or all-zeros
      word per element (+0.0 is the zero word, NaN and inf pass untouched). The words are made
      as bytes (-1 or 0) and widened with their sign: one pass over the wide words fewer than
      negating them wide (0.35 -> 0.29 ms on 2 MiB).
    - otherwise, a and b of one float dtype, each of the result's shape or a scalar, in the
      memory order of cond: ``b ^ ((a ^ b) & word)`` per block (``_SELECT_BLOCK``): 2M float32
      values 7.7 -> 1.9 ms (leaky_relu, elu, sigmoid's two branches...).

    Anything else is ``np.where``'s."""
    if cond.dtype != np.bool_ or a.dtype != b.dtype or a.dtype not in _INT:
        return np.where(cond, a, b)
    kept_where = b.ndim == 0  # a where cond, else the +0.0 of b; or the other way round
    arr, zero = (a, b) if kept_where else (b, a)
    if zero.ndim or arr.shape != cond.shape or zero != 0 or np.signbit(zero):
        return _blend(cond, a, b)
    c = np.asarray(cond).view(np.int8)  # an array also for a 0-d mask (a NumPy bool)
    byte = np.negative(c) if kept_where else np.subtract(c, 1)  # 1 -> -1 or 0 -> -1: all ones
    word = np.array(byte, _INT[a.dtype])  # widened with the sign (an array also when 0-d)
    return np.bitwise_and(arr.view(word.dtype), word, out=word).view(a.dtype)


def relu_backward(out: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """``np.where(out <= 0, 0.0, g)`` (relu's plain backward: +0.0 where out <= 0, g elsewhere,
    NaN included) in one compiled pass (ops/_compiled.py) in place of four NumPy ones (the mask,
    and ``select``'s bytes, words and AND: 0.27 -> 0.10 ms on 2 MiB); None without numba, for
    another dtype, or when g's memory is not in out's order."""
    kernels = _compiled.kernels()
    if kernels is None or out.dtype != g.dtype or out.dtype not in _INT or not out.size:
        return None
    if not g.ndim:
        return None
    # large: in pieces on the BLAS pool's threads
    shared = flat_parts(lambda res, o, gv: kernels.relu_backward(o, gv, res), out, out, g)
    if shared is not None:
        return shared
    flat = flat_views([out, g], out)
    if flat is None:
        return None
    (o, gv), order = flat
    res = np.empty(out.size, out.dtype)
    kernels.relu_backward(o, gv, res)
    return unflat(res, out.shape, order)


def _blend(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.where(cond, a, b)`` as ``b ^ ((a ^ b) & word)`` by blocks (see ``select``), or
    np.where's when small or when the operands' memory is not in one order."""
    n = cond.size
    if np.broadcast_shapes(cond.shape, np.shape(a), np.shape(b)) != cond.shape:
        # cond broadcast against a larger side: np.where's, on the arrays as given (a side
        # taken as its one value would lose the result's shape; fuzz seed 4545945: where's
        # backward under a sum's gradient of (1, 2, 1) and a (1, 1, 1) mask gave a 0-d gradient)
        return np.where(cond, a, b)
    a, b = one_value(a), one_value(b)
    flat = flat_views([cond, a, b], cond) if n >= _SELECT_SMALL else None
    if flat is None:
        return np.where(cond, a, b)
    (c, av, bv), order = flat
    ints = _INT[a.dtype]
    out = np.empty(n, a.dtype)
    c8, ai, bi, o = c.view(np.int8), av.view(ints), bv.view(ints), out.view(ints)
    word = np.empty(min(n, _SELECT_BLOCK), ints)
    for i in range(0, n, _SELECT_BLOCK):
        j = min(n, i + _SELECT_BLOCK)
        w, dst = word[: j - i], o[i:j]
        np.negative(c8[i:j], out=w, casting="unsafe")  # True -> -1: all ones, widened
        ak = ai[i:j] if ai.ndim else ai
        bk = bi[i:j] if bi.ndim else bi
        np.bitwise_xor(ak, bk, out=dst)
        dst &= w
        dst ^= bk
    return unflat(out, cond.shape, order)
