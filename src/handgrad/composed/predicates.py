"""Element-wise predicates as torch names them (``isinf``, ``isposinf``, ``isneginf``,
``isreal``, ``signbit``, ``logical_xor``); their Tensor methods (and ``equal``'s, from
``ops.elementwise``) are in ``methods.py``. Results are boolean constants: nothing
here is differentiable, so no primitive is needed.

NumPy's ufuncs agree with torch on every dtype torch accepts: integers and booleans are never
infinite, ``signbit(-0.0)`` is True, and ``isposinf`` / ``signbit`` of a complex tensor is an
error in both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.elementwise import _constant

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor


def _predicate(np_fn: Any, name: str) -> Any:
    """``ops.elementwise._constant`` (a boolean constant), with NumPy's refusal of a dtype
    (a complex tensor) as torch's RuntimeError naming the op."""
    constant = _constant(np_fn, name)

    def op(input: Any) -> Tensor:
        try:
            return constant(input)
        except TypeError as exc:
            raise RuntimeError(
                f"{name}: not supported for a tensor of dtype {lift(input).dtype}"
            ) from exc

    op.__name__ = name
    op.__doc__ = f"{name} (element-wise, a boolean constant)."
    return op


isinf = _predicate(np.isinf, "isinf")
isposinf = _predicate(np.isposinf, "isposinf")
isneginf = _predicate(np.isneginf, "isneginf")
isreal = _predicate(np.isreal, "isreal")
signbit = _predicate(np.signbit, "signbit")


# as torch.logical_and / logical_or beside it: a boolean constant of the broadcast operands
logical_xor = _constant(np.logical_xor, "logical_xor")

# torch.equal is ops.elementwise.equal (one Python bool for two whole tensors)

__all__ = ["isinf", "isposinf", "isneginf", "isreal", "signbit", "logical_xor"]
