"""What a tensor *is*: a NumPy array, whether it requires grad, its ``.grad``, the node that made it
and a version counter. No operation lives here; this is the bottom of the engine.

The public ``Tensor`` (``handgrad._tensor``) is this class plus the method groups that delegate to
``handgrad.ops``. The primitives make their outputs through ``TensorBase._wrap``, the one
constructor, which builds an instance of the public class (it registers itself with
``output=True``), so the primitives never import the class built on top of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .device import device as _device
from .dtypes import bool_, float32, int64

_default_dtype = float32
_CPU = _device("cpu")
_new = object.__new__


def set_default_dtype(dtype: Any) -> None:
    """The dtype of tensors made from Python floats and of ``zeros``/``randn``/... (float32)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    return _default_dtype


def _infer_array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy array for ``data`` with PyTorch's inference: Python floats -> default dtype,
    Python ints -> int64, bools -> bool; NumPy arrays keep their dtype."""
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data.copy()
    arr = np.array(data)
    if arr.dtype == np.float64 and not isinstance(data, np.floating):
        arr = arr.astype(_default_dtype)
    elif arr.dtype.kind in "iu" and arr.dtype != np.int64 and not isinstance(data, np.integer):
        arr = arr.astype(np.int64)
    return arr


class TensorBase:
    """An n-dimensional array that can record the operations applied to it.

    ``_data`` is the NumPy array; ``_ctx`` the node (a ``Function``) that produced it, ``None``
    for leaves; ``_version`` a one-element list shared with views, incremented by in-place
    operations so that backward can refuse stale saved values; ``_hooks`` the gradient hooks of a
    leaf (a non-leaf keeps them on its node).
    """

    __slots__ = ("__weakref__", "_ctx", "_data", "_hooks", "_requires_grad", "_version", "grad")
    # NumPy must not turn a Tensor into an array in ``ndarray * Tensor``: returning NotImplemented
    # lets Python call Tensor.__rmul__ instead.
    __array_ufunc__ = None
    __hash__ = object.__hash__

    _output_class: type = object  # the class ``_wrap`` builds: the public Tensor, once defined

    _data: np.ndarray
    _requires_grad: bool
    grad: Any
    _ctx: Any
    _version: list
    _hooks: list | None

    def __init_subclass__(cls, output: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if output:
            TensorBase._output_class = cls

    def _setup(
        self,
        array: np.ndarray,
        requires_grad: bool = False,
        ctx: Any = None,
        version: list | None = None,
    ) -> None:
        """Fill the fields of a new tensor (``array`` is taken as is, not copied)."""
        self._data = array
        self._requires_grad = requires_grad
        self.grad = None
        self._ctx = ctx
        self._version = [0] if version is None else version
        self._hooks = None

    @staticmethod
    def _wrap(
        array: np.ndarray, requires_grad: bool = False, ctx: Any = None, version: list | None = None
    ) -> Any:
        """The one constructor: a public Tensor around ``array`` without copying. ``ctx`` is the
        node that made it, ``version`` a counter to share (views share their base's).

        Every primitive's output is made here, so the fields are written inline rather than by a
        call to ``_setup`` (a call costs as much as the six assignments); ``_setup`` is the same
        for the ``__init__`` of subclasses, and tests/engine/test_engine_layout.py checks they
        agree."""
        t: Any = _new(TensorBase._output_class)
        t._data = array if type(array) is np.ndarray else np.asarray(array)
        t._requires_grad = requires_grad
        t.grad = None
        t._ctx = ctx
        t._version = [0] if version is None else version
        t._hooks = None
        return t

    # ---- what it is --------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._data.shape
        return self._data.shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    @property
    def device(self) -> _device:
        return _CPU

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        return self._ctx

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._ctx is not None and not value:
            raise RuntimeError(
                "requires_grad: you can only change requires_grad of leaf tensors; "
                "use detach() to get a tensor that does not require grad"
            )
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad: only tensors of floating point dtype can require gradients, "
                f"got {self._data.dtype} (shape {self._data.shape})"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Any:
        """A tensor sharing this one's memory, outside the graph (PyTorch's ``.data``)."""
        return TensorBase._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, TensorBase) else np.asarray(value)

    def detach(self) -> Any:
        return TensorBase._wrap(self._data, version=self._version)

    def detach_(self) -> Any:
        self._ctx = None
        self._requires_grad = False
        return self

    # ---- conversion to Python and NumPy ------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The underlying array; it shares memory with the tensor, as in PyTorch."""
        if self._requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy() instead"
            )
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a tensor with {self._data.size} elements cannot be converted to a scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __repr__(self) -> str:
        body = np.array2string(
            self._data, separator=", ", prefix="tensor(", precision=4, suppress_small=False
        )
        extra = ""
        if self._data.dtype not in (_default_dtype, int64, bool_) or self._data.size == 0:
            extra += f", dtype={self._data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn={self._ctx!r}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __format__(self, spec: str) -> str:
        # As PyTorch: a 0-d tensor formats as its number ('{:.2f}'.format(loss)); any other tensor
        # only with an empty spec (object.__format__ raises TypeError otherwise).
        if self._data.ndim == 0 and type(self) is TensorBase._output_class:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: a tensor with {self._data.size} elements is ambiguous as a truth value"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return self.item().__float__()

    def __int__(self) -> int:
        return self.item().__int__()

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return self._data.item()


def lift(value: Any, like: TensorBase | None = None) -> Any:
    """``value`` as a Tensor operand. A Python number takes the dtype of the tensor it meets, so
    float32 stays float32 (as in PyTorch); with an integer tensor, a Python float becomes the
    default float dtype."""
    if isinstance(value, TensorBase):
        return value
    if isinstance(value, np.ndarray):
        return TensorBase._wrap(value)
    if like is not None and isinstance(value, (bool, int, float)):
        kind = like._data.dtype.kind
        if kind in "fc" or (kind in "iu" and not isinstance(value, float)):
            return TensorBase._wrap(np.asarray(value, dtype=like._data.dtype))
    return TensorBase._wrap(_infer_array(value))
