"""The in-place twins of out-of-place Tensor methods, as PyTorch names them: ``x.sigmoid_()`` is
``x.sigmoid()`` written into ``x``'s memory, ``x.transpose_(0, 1)`` makes ``x`` the transposed
view. A table of one line per method (each a name a reader and an IDE can find), not engine
logic: the computation is the out-of-place method's, and the write follows the rules of
``tensor_methods/inplace.py`` (the version counter counts it; a tensor that requires grad may
only be written under ``no_grad()``; the result must keep the tensor's shape, and its dtype
must cast to the tensor's by NumPy's "same_kind", as torch's "can't be cast to the desired
output type": a boolean result (``x.eq_(y)``) writes 1 and 0 into any dtype).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad


def _assign(t: Any, op: str, result: Any) -> Any:
    """Write ``result`` (a Tensor of t's shape) into ``t``'s memory, as PyTorch's ``op``."""
    a, r = t._data, result._data
    if r.shape != a.shape:
        raise RuntimeError(
            f"{op}: the result of shape {tuple(r.shape)} cannot be written into a tensor of shape "
            f"{tuple(a.shape)} (in-place operations keep their tensor's shape)"
        )
    if r.dtype != np.bool_ and not np.can_cast(r.dtype, a.dtype, "same_kind"):
        raise RuntimeError(
            f"{op}: result type {r.dtype} can't be cast to the desired output type {a.dtype}"
        )
    t._inplace(op)
    np.copyto(a, r, casting="unsafe")
    return t


def _variant(name: str) -> Callable:
    """``t.<name>_(...)``: ``t.<name>(...)`` computed without recording, written into t."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._requires_grad:
            self._inplace(name + "_")  # torch's error before any work (grad mode on)
        with no_grad():
            result = getattr(self, name)(*args, **kwargs)
        return _assign(self, name + "_", result)

    method.__name__, method.__qualname__ = name + "_", f"InplaceVariants.{name}_"
    method.__doc__ = f"In place: ``{name}`` written into this tensor (see the module docstring)."
    return method


def _view_variant(name: str) -> Callable:
    """``t.<name>_(...)``: t becomes the view ``t.<name>(...)`` of the same memory (squeeze_,
    transpose_, ...: a new shape, no values written)."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._inplace(name + "_")
        with no_grad():
            self._data = getattr(self, name)(*args, **kwargs)._data
        return self

    method.__name__, method.__qualname__ = name + "_", f"InplaceVariants.{name}_"
    method.__doc__ = f"In place: this tensor becomes its ``{name}`` view (same memory)."
    return method


class InplaceVariants:
    """The methods, grouped as torch's documentation lists them."""

    __slots__ = ()

    # element-wise arithmetic and functions
    acos_ = _variant("acos")
    arccos_ = _variant("arccos")
    asin_ = _variant("asin")
    arcsin_ = _variant("arcsin")
    atan_ = _variant("atan")
    arctan_ = _variant("arctan")
    atan2_ = _variant("atan2")
    arctan2_ = _variant("arctan2")
    cos_ = _variant("cos")
    cosh_ = _variant("cosh")
    sin_ = _variant("sin")
    sinh_ = _variant("sinh")
    tan_ = _variant("tan")
    tanh_ = _variant("tanh")
    sigmoid_ = _variant("sigmoid")
    relu_ = _variant("relu")
    logit_ = _variant("logit")
    erf_ = _variant("erf")
    expm1_ = _variant("expm1")
    log_ = _variant("log")
    log10_ = _variant("log10")
    log1p_ = _variant("log1p")
    log2_ = _variant("log2")
    reciprocal_ = _variant("reciprocal")
    rsqrt_ = _variant("rsqrt")
    sign_ = _variant("sign")
    sgn_ = _variant("sgn")
    trunc_ = _variant("trunc")
    frac_ = _variant("frac")
    deg2rad_ = _variant("deg2rad")
    rad2deg_ = _variant("rad2deg")
    hypot_ = _variant("hypot")
    fmod_ = _variant("fmod")
    xlogy_ = _variant("xlogy")
    true_divide_ = _variant("true_divide")
    nan_to_num_ = _variant("nan_to_num")
    clamp_min_ = _variant("clamp_min")
    clamp_max_ = _variant("clamp_max")
    addmm_ = _variant("addmm")
    # comparisons and logic (a boolean result written as 1 and 0)
    eq_ = _variant("eq")
    ne_ = _variant("ne")
    lt_ = _variant("lt")
    le_ = _variant("le")
    gt_ = _variant("gt")
    ge_ = _variant("ge")
    logical_and_ = _variant("logical_and")
    logical_or_ = _variant("logical_or")
    logical_xor_ = _variant("logical_xor")
    logical_not_ = _variant("logical_not")
    bitwise_not_ = _variant("bitwise_not")
    # scans, triangles, indexing
    cumsum_ = _variant("cumsum")
    cumprod_ = _variant("cumprod")
    tril_ = _variant("tril")
    triu_ = _variant("triu")
    index_add_ = _variant("index_add")
    index_fill_ = _variant("index_fill")
    scatter_ = _variant("scatter")
    scatter_add_ = _variant("scatter_add")
    # views: a new shape over the same memory
    squeeze_ = _view_variant("squeeze")
    unsqueeze_ = _view_variant("unsqueeze")
    t_ = _view_variant("t")
    transpose_ = _view_variant("transpose")
    swapaxes_ = _view_variant("swapaxes")
    swapdims_ = _view_variant("swapdims")


__all__ = ["InplaceVariants"]
