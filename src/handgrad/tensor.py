"""The Tensor: a NumPy array, whether it requires grad, its ``.grad``, and the node that made it.

Methods and operators delegate to the primitives in ``handgrad.ops``; this module holds only what
a tensor *is* (data, dtype, grad bookkeeping, in-place updates for optimizers and initialisers).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import autograd

from .dtypes import bool_, float32, float64, int32, int64

_default_dtype = float32


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


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    ``_data`` is the NumPy array; ``_ctx`` the node (a ``Function``) that produced it, ``None``
    for leaves; ``_version`` a one-element list shared with views, incremented by in-place
    operations so that backward can refuse stale saved values.
    """

    __slots__ = ("_data", "_requires_grad", "grad", "_ctx", "_version", "_hooks", "__weakref__")
    # NumPy must not turn a Tensor into an array in ``ndarray * Tensor``: returning NotImplemented
    # lets Python call Tensor.__rmul__ instead.
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data._data
        self._data = _infer_array(data, dtype)
        self._requires_grad = False
        self.grad: Tensor | None = None
        self._ctx = None
        self._version = [0]
        self._hooks: list | None = None
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _wrap(array: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """A tensor around ``array`` without copying (internal fast path)."""
        t = Tensor.__new__(Tensor)
        t._data = array if type(array) is np.ndarray else np.asarray(array)
        t._requires_grad = requires_grad
        t.grad = None
        t._ctx = None
        t._version = [0]
        t._hooks = None
        return t

    # ---- what it is --------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: "int | None" = None) -> Any:
        if dim is None:
            return self._data.shape
        return self._data.shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> "int":
        return self._data.ndim

    def dim(self) -> "int":
        return self._data.ndim

    def numel(self) -> "int":
        return self._data.size

    @property
    def device(self) -> str:
        return "cpu"

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

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's memory, outside the graph (PyTorch's ``.data``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    # ---- conversion --------------------------------------------------------------------------

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

    def detach(self) -> "Tensor":
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        self._ctx = None
        self._requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return ops.clone(self)

    def contiguous(self) -> "Tensor":
        return self

    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> "Tensor":
        dtype = kwargs.get("dtype", dtype)
        if isinstance(dtype, str) and dtype in ("cpu",):
            return self
        if isinstance(dtype, Tensor):
            dtype = dtype.dtype
        if dtype is None or np.dtype(dtype) == self._data.dtype:
            return self
        return ops.to(self, np.dtype(dtype))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to(float64)

    def long(self) -> "Tensor":
        return self.to(int64)

    def int(self) -> "Tensor":
        return self.to(int32)

    def bool(self) -> "Tensor":
        return self.to(bool_)

    def cpu(self) -> "Tensor":
        return self

    # ---- autograd ----------------------------------------------------------------------------

    def backward(
        self,
        gradient: "Tensor | None" = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        autograd.backward(self, gradient, retain_graph, create_graph)

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces
        the gradient. Returns a function that removes the hook."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        owner = self._ctx if self._ctx is not None else self
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return lambda: owner._hooks.remove(hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        import weakref

        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)

    # ---- in-place updates (optimizers, initialisers) -----------------------------------------

    def _inplace(self, op: str) -> None:
        if autograd._grad_enabled and self._requires_grad:
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

    def _operand(self, other: Any) -> np.ndarray:
        return other._data if isinstance(other, Tensor) else other

    def add_(self, other: Any, alpha: Any = 1) -> "Tensor":
        self._inplace("add_")
        o = self._operand(other)
        if alpha != 1:
            o = o * alpha
        np.add(self._data, o, out=self._data, casting="same_kind")
        return self

    def sub_(self, other: Any, alpha: Any = 1) -> "Tensor":
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> "Tensor":
        self._inplace("mul_")
        np.multiply(self._data, self._operand(other), out=self._data, casting="same_kind")
        return self

    def div_(self, other: Any) -> "Tensor":
        self._inplace("div_")
        np.divide(self._data, self._operand(other), out=self._data, casting="same_kind")
        return self

    def addcmul_(self, a: Any, b: Any, value: Any = 1) -> "Tensor":
        self._inplace("addcmul_")
        self._data += value * (self._operand(a) * self._operand(b))
        return self

    def addcdiv_(self, a: Any, b: Any, value: Any = 1) -> "Tensor":
        self._inplace("addcdiv_")
        self._data += value * (self._operand(a) / self._operand(b))
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        self._inplace("clamp_")
        np.clip(self._data, min, max, out=self._data)
        return self

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_(self, value: Any) -> "Tensor":
        self._inplace("fill_")
        self._data[...] = self._operand(value)
        return self

    def copy_(self, src: Any) -> "Tensor":
        self._inplace("copy_")
        src = self._operand(src)
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

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> "Tensor":
        from .random import _generator

        self._inplace("uniform_")
        self._data[...] = _generator(generator).uniform(a, b, self._data.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> "Tensor":
        from .random import _generator

        self._inplace("normal_")
        self._data[...] = _generator(generator).normal(mean, std, self._data.shape)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._inplace("__setitem__")
        self._data[ops.shape._index(index, self.shape)] = self._operand(value)

    # ---- printing and Python protocol --------------------------------------------------------

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

    def __len__(self) -> "int":
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: a tensor with {self._data.size} elements is ambiguous as a truth value"
            )
        return bool(self._data)

    def __float__(self) -> "float":
        return self.item().__float__()

    def __int__(self) -> "int":
        return self.item().__int__()

    def __index__(self) -> "int":
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return self._data.item()

    # ---- operators ---------------------------------------------------------------------------

    def __add__(self, o: Any) -> "Tensor":
        return _binary(_ew.Add, self, o)

    def __radd__(self, o: Any) -> "Tensor":
        return ops.add(o, self)

    def __sub__(self, o: Any) -> "Tensor":
        return _binary(_ew.Sub, self, o)

    def __rsub__(self, o: Any) -> "Tensor":
        return ops.sub(o, self)

    def __mul__(self, o: Any) -> "Tensor":
        return _binary(_ew.Mul, self, o)

    def __rmul__(self, o: Any) -> "Tensor":
        return _binary(_ew.Mul, o, self)

    def __truediv__(self, o: Any) -> "Tensor":
        return ops.div(self, o)

    def __rtruediv__(self, o: Any) -> "Tensor":
        return ops.div(o, self)

    def __pow__(self, o: Any) -> "Tensor":
        return ops.pow(self, o)

    def __rpow__(self, o: Any) -> "Tensor":
        return ops.pow(o, self)

    def __matmul__(self, o: Any) -> "Tensor":
        return ops.matmul(self, o)

    def __rmatmul__(self, o: Any) -> "Tensor":
        return ops.matmul(o, self)

    def __neg__(self) -> "Tensor":
        return _ew.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return ops.abs(self)

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.getitem(self, index)

    def __eq__(self, o: Any) -> "Tensor":  # type: ignore[override]
        return ops.eq(self, o)

    def __ne__(self, o: Any) -> "Tensor":  # type: ignore[override]
        return ops.ne(self, o)

    def __lt__(self, o: Any) -> "Tensor":
        return ops.lt(self, o)

    def __le__(self, o: Any) -> "Tensor":
        return ops.le(self, o)

    def __gt__(self, o: Any) -> "Tensor":
        return ops.gt(self, o)

    def __ge__(self, o: Any) -> "Tensor":
        return ops.ge(self, o)

    def __invert__(self) -> "Tensor":
        return ops.logical_not(self)

    def __and__(self, o: Any) -> "Tensor":
        return ops.logical_and(self, o)

    def __or__(self, o: Any) -> "Tensor":
        return ops.logical_or(self, o)

    @property
    def T(self) -> "Tensor":  # noqa: N802
        return ops.permute(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self) -> "Tensor":  # noqa: N802
        if self.ndim == 0:
            return ops.reshape(self, ())  # torch: the identity on a 0-d tensor
        if self.ndim == 1:
            raise RuntimeError(
                f"mT: expected a matrix or a batch of matrices, got a 1-D tensor of shape {self.shape}")
        return ops.transpose(self, -2, -1)


def lift(value: Any, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor operand. A Python number takes the dtype of the tensor it meets, so
    float32 stays float32 (as in PyTorch); with an integer tensor, a Python float becomes the
    default float dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if like is not None and isinstance(value, (bool, type(1), type(1.0))):
        kind = like._data.dtype.kind
        if kind in "fc" or (kind in "iu" and not isinstance(value, type(1.0))):
            return Tensor._wrap(np.asarray(value, dtype=like._data.dtype))
    return Tensor._wrap(_infer_array(value))


def _method(name: str) -> Callable:
    fn = getattr(ops, name)

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = fn.__doc__
    return method


# Methods that are the function of the same name applied to the tensor (x.exp() is hg.exp(x)).
TENSOR_METHODS: Sequence[str] = (
    "add sub mul div pow neg exp log log1p sqrt rsqrt abs sin cos tanh sigmoid relu erf clamp "
    "clip maximum minimum sign floor ceil round square reciprocal eq ne lt le gt ge isnan "
    "isfinite logical_not logical_and logical_or sum mean var std amax amin max min argmax argmin "
    "logsumexp cumsum norm all any prod cumprod logcumsumexp cummax cummin movedim moveaxis "
    "swapaxes swapdims select rot90 fliplr flipud tensor_split masked_select index_add scatter "
    "count_nonzero argwhere isin bincount tan sinh cosh asin acos atan arcsin arccos arctan atan2 "
    "arctan2 expm1 log2 log10 logaddexp logit xlogy hypot lerp addcmul addcdiv clamp_min "
    "clamp_max nan_to_num trunc frac fmod remainder deg2rad rad2deg isclose allclose sort argsort "
    "topk kthvalue median tril triu diagonal diag trace roll tile repeat_interleave "
    "take_along_dim diff nonzero unique inverse det reshape view view_as permute transpose expand "
    "expand_as broadcast_to squeeze unsqueeze flatten flip split chunk unbind narrow repeat "
    "gather scatter_add matmul mm bmm dot softmax log_softmax masked_fill where index_select"
).split()

from . import ops  # noqa: E402  (the primitives need the Tensor class defined above)
from .ops import elementwise as _ew  # noqa: E402
from .ops.elementwise import _binary  # noqa: E402

for _name in TENSOR_METHODS:
    setattr(Tensor, _name, _method(_name))
