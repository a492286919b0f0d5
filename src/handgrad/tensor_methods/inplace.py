"""In-place methods (``x.add_(y)``, ``x.zero_()``) and the augmented assignments (``x += y``).

They write into the tensor's array and count the write on its version counter (shared with its
views), so that a backward that saved the old values refuses to run instead of giving a wrong
gradient. Writing into a tensor that requires grad while grad mode is on is an error, as in PyTorch
(optimizers and initialisers write under ``no_grad()``).

The augmented assignments follow PyTorch: ``x += y`` updates ``x`` in place, except that handgrad
does not record in-place operations in the graph; so when the update itself must be recorded (grad
mode on and ``y`` or a non-leaf ``x`` requiring grad) ``x += y`` computes ``x + y`` out of place
and rebinds the name, which gives the same values and gradients. ``@=`` is never in place (PyTorch
has no in-place matmul either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ops
from .._tensor_base import TensorBase
from ..autograd.grad_mode import is_grad_enabled
from ..random import _generator

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


def _operand(other: Any) -> Any:
    return other._data if isinstance(other, TensorBase) else other


def _write(t: Any, op: str, ufunc: Any, other: Any) -> Any:
    """``t.data = ufunc(t.data, other)`` in place; the result must keep t's dtype and shape."""
    t._inplace(op)
    o = _operand(other)
    a = t._data
    # (an operand of t's own dtype, an optimizer's every write, needs no check)
    mixed = isinstance(o, np.ndarray) and o.dtype != a.dtype
    if mixed and not np.can_cast(np.result_type(a, o), a.dtype, "same_kind"):
        raise RuntimeError(
            f"{op}: result type {np.result_type(a, o)} can't be cast to the desired output type "
            f"{a.dtype}"
        )
    try:
        ufunc(a, o, out=a, casting="same_kind")
    except TypeError:  # NumPy's UFuncTypeError: e.g. an integer tensor divided in place
        raise RuntimeError(
            f"{op}: result of {a.dtype} {op} {np.asarray(o).dtype} can't be cast to the desired "
            f"output type {a.dtype}"
        ) from None
    except ValueError:
        raise RuntimeError(
            f"{op}: the result of shape {np.broadcast_shapes(a.shape, np.shape(o))} cannot be "
            f"written into a tensor of shape {a.shape} (in-place operations do not broadcast "
            "their destination)"
        ) from None
    return t


def _unary(t: Any, op: str, fn: Callable, *args: Any) -> Any:
    t._inplace(op)
    t._data[...] = fn(t._data, *[_operand(a) for a in args])
    return t


class InplaceMethods(_Base):
    __slots__ = ()

    def _inplace(self: Any, op: str) -> None:
        """Check that ``op`` may write into this tensor, then count the write."""
        if self._requires_grad and is_grad_enabled():
            what = "a leaf tensor" if self._ctx is None else "a tensor"
            raise RuntimeError(
                f"{op}: {what} that requires grad is being used in an in-place operation; "
                "wrap it in handgrad.no_grad() (as optimizers do) or use the out-of-place form"
            )
        if not self._data.flags.writeable:
            raise RuntimeError(
                f"{op}: this tensor is a read-only view (e.g. made by expand); clone() it first"
            )
        self._version[0] += 1

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        if isinstance(alpha, TensorBase):
            alpha = alpha.item()  # PyTorch accepts a 0-d tensor as alpha
        o = _operand(other)
        return _write(self, "add_", np.add, o if alpha == 1 else o * alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        if isinstance(alpha, TensorBase):
            alpha = alpha.item()
        o = _operand(other)
        return _write(self, "sub_", np.subtract, o if alpha == 1 else o * alpha)

    def mul_(self, other: Any) -> Tensor:
        return _write(self, "mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        return _write(self, "div_", np.divide, other)

    def floor_divide_(self, other: Any) -> Tensor:
        return _write(self, "floor_divide_", np.floor_divide, other)

    def remainder_(self, other: Any) -> Tensor:
        return _write(self, "remainder_", np.mod, other)

    def pow_(self, exponent: Any) -> Tensor:
        return _write(self, "pow_", np.power, exponent)

    def bitwise_and_(self, other: Any) -> Tensor:
        return _write(self, "bitwise_and_", np.bitwise_and, other)

    def bitwise_or_(self, other: Any) -> Tensor:
        return _write(self, "bitwise_or_", np.bitwise_or, other)

    def bitwise_xor_(self, other: Any) -> Tensor:
        return _write(self, "bitwise_xor_", np.bitwise_xor, other)

    def bitwise_left_shift_(self, other: Any) -> Tensor:
        return _write(self, "bitwise_left_shift_", np.left_shift, other)

    def bitwise_right_shift_(self, other: Any) -> Tensor:
        return _write(self, "bitwise_right_shift_", np.right_shift, other)

    def addcmul_(self, tensor1: Any, tensor2: Any, value: Any = 1) -> Tensor:
        self._inplace("addcmul_")
        self._data += value * (_operand(tensor1) * _operand(tensor2))
        return self

    def addcdiv_(self, tensor1: Any, tensor2: Any, value: Any = 1) -> Tensor:
        self._inplace("addcdiv_")
        self._data += value * (_operand(tensor1) / _operand(tensor2))
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        self._inplace("clamp_")
        np.clip(self._data, _operand(min), _operand(max), out=self._data)
        return self

    def clip_(self, min: Any = None, max: Any = None) -> Tensor:
        return self.clamp_(min, max)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        self._inplace("fill_")
        self._data[...] = _operand(value)
        return self

    def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
        self._inplace("copy_")
        src = _operand(src)
        if np.shape(src) != self._data.shape:
            try:
                np.broadcast_to(src, self._data.shape)
            except ValueError:
                raise RuntimeError(
                    f"copy_: source of shape {np.shape(src)} cannot be broadcast to the "
                    f"destination's shape {self._data.shape}"
                ) from None
        self._data[...] = src
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
        self._inplace("uniform_")
        self._data[...] = _generator(generator).uniform(a, b, self._data.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        self._inplace("normal_")
        self._data[...] = _generator(generator).normal(mean, std, self._data.shape)
        return self

    def exp_(self) -> Tensor:
        return _unary(self, "exp_", np.exp)

    def sqrt_(self) -> Tensor:
        return _unary(self, "sqrt_", np.sqrt)

    def neg_(self) -> Tensor:
        return _unary(self, "neg_", np.negative)

    def abs_(self) -> Tensor:
        return _unary(self, "abs_", np.abs)

    def square_(self) -> Tensor:
        return _unary(self, "square_", np.square)

    def floor_(self) -> Tensor:
        return _unary(self, "floor_", np.floor)

    def ceil_(self) -> Tensor:
        return _unary(self, "ceil_", np.ceil)

    def round_(self) -> Tensor:
        return _unary(self, "round_", np.round)

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return _unary(self, "lerp_", lambda a, e, w: a + w * (e - a), end, weight)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return _unary(self, "masked_fill_", lambda a, m, v: np.where(m, v, a), mask, value)

    # ---- augmented assignment ----------------------------------------------------------------

    def _recorded_update(self: Any, other: Any) -> bool:
        """Whether ``self op= other`` must be recorded in the graph (then it is done out of place;
        a leaf that requires grad still gets the in-place error, as in PyTorch)."""
        if not is_grad_enabled():
            return False
        if self._requires_grad:
            return self._ctx is not None
        return isinstance(other, TensorBase) and other._requires_grad

    def __iadd__(self, other: Any) -> Tensor:
        return ops.add(self, other) if self._recorded_update(other) else self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return ops.sub(self, other) if self._recorded_update(other) else self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return ops.mul(self, other) if self._recorded_update(other) else self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return ops.div(self, other) if self._recorded_update(other) else self.div_(other)

    def __ifloordiv__(self, other: Any) -> Tensor:
        if self._recorded_update(other):
            return self.floor_divide(other)
        return self.floor_divide_(other)

    def __imod__(self, other: Any) -> Tensor:
        if self._recorded_update(other):
            return ops.remainder(self, other)
        return self.remainder_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return ops.pow(self, other) if self._recorded_update(other) else self.pow_(other)

    def __iand__(self, other: Any) -> Tensor:
        return self.bitwise_and_(other)

    def __ior__(self, other: Any) -> Tensor:
        return self.bitwise_or_(other)

    def __ixor__(self, other: Any) -> Tensor:
        return self.bitwise_xor_(other)

    def __ilshift__(self, other: Any) -> Tensor:
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other: Any) -> Tensor:
        return self.bitwise_right_shift_(other)
