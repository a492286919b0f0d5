"""Conversions and conveniences: dtype and device (``to``, ``float()``, ``type()``, ``cpu()``),
copies (``clone``), new tensors like this one (``new_zeros``), and layout queries (``stride``)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import creation, ops
from .._tensor_base import TensorBase
from ..device import as_device
from ..dtypes import (
    bool_,
    dtype_of_legacy,
    float16,
    float32,
    float64,
    int16,
    int32,
    int64,
    legacy_type_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


def _size(size: tuple) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _to_args(op: str, args: tuple, kwargs: dict) -> Any:
    """The dtype asked for by ``to(...)``'s overloads: ``to(dtype)``, ``to(device, dtype)``,
    ``to(tensor)``, ``to(device=..., dtype=...)``; None to keep the dtype."""
    dtype = kwargs.pop("dtype", None)
    as_device(kwargs.pop("device", None), op)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{op}: unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, TensorBase):
            dtype = a.dtype
        elif isinstance(a, str) or type(a).__name__ == "device":
            as_device(a, op)
        elif isinstance(a, builtins.bool):  # to(dtype, non_blocking, copy) positional flags
            continue
        elif a is not None:
            dtype = a
    return None if dtype is None else np.dtype(dtype)


class ConversionMethods(_Base):
    __slots__ = ()

    def clone(self, *, memory_format: Any = None) -> Tensor:
        """A copy with its own memory, connected to the graph (``memory_format`` is accepted;
        handgrad tensors are always contiguous)."""
        return ops.clone(self)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        # a copy in C order where the memory is not (then is_contiguous() holds, as in torch)
        return self if self._data.flags.c_contiguous else ops.clone(self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its dtype), with
        PyTorch's ``non_blocking=``/``copy=`` keywords; the device can only be the CPU."""
        copy = kwargs.get("copy", False)
        dtype = _to_args("to", args, kwargs)
        if dtype is None or dtype == self._data.dtype:
            return ops.clone(self) if copy else self
        return ops.to(self, dtype)

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False, **kwargs: Any) -> Tensor:
        raise RuntimeError("cuda: handgrad runs on the CPU only; use .cpu() or .to('cpu')")

    @property
    def is_cuda(self) -> builtins.bool:
        return False

    @property
    def is_xpu(self) -> builtins.bool:
        return False

    @property
    def is_sparse(self) -> builtins.bool:
        return False  # a dense tensor; a SparseCOOTensor (ops/sparse_coo.py) says True

    def to_sparse(
        self,
        sparse_dim: Any = None,
        *,
        layout: Any = None,
        blocksize: Any = None,
        dense_dim: Any = None,
    ) -> Any:
        """The nonzero entries as a sparse COO tensor (``ops.sparse_coo.to_sparse``)."""
        return ops.sparse_coo.to_sparse(
            self, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim
        )

    def to_sparse_coo(self) -> Any:
        return ops.sparse_coo.to_sparse(self)

    def share_memory_(self) -> Tensor:
        """Move the data to shared memory, in place (``_shared_memory.py``)."""
        # imported here: the engine does not load the multiprocessing machinery until asked
        from .._shared_memory import share_memory_

        return share_memory_(self)

    def is_shared(self) -> builtins.bool:
        from .._shared_memory import is_shared

        return is_shared(self)

    @property
    def is_mps(self) -> builtins.bool:
        return False

    def get_device(self) -> builtins.int:
        return -1  # PyTorch's answer for a CPU tensor

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """With no argument PyTorch's type string ('torch.FloatTensor'); otherwise this tensor
        cast to ``dtype`` (a dtype, a legacy class such as ``hg.LongTensor`` or its string)."""
        if dtype is None:
            return legacy_type_name(self._data.dtype)
        return self.to(dtype_of_legacy(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def half(self) -> Tensor:
        return self.to(float16)

    def long(self) -> Tensor:
        return self.to(int64)

    def int(self) -> Tensor:
        return self.to(int32)

    def short(self) -> Tensor:
        return self.to(int16)

    def byte(self) -> Tensor:
        return self.to(np.uint8)

    def bool(self) -> Tensor:
        return self.to(bool_)

    def is_floating_point(self) -> builtins.bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> builtins.bool:
        return self._data.dtype.kind == "c"

    # ---- new tensors like this one -----------------------------------------------------------

    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return creation.zeros(
            *_size(size), dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
        )

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return creation.ones(
            *_size(size), dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
        )

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return creation.empty(
            *_size(size), dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
        )

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return creation.full(
            size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
        )

    def new_tensor(
        self, data: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        return creation.tensor(
            data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
        )

    # ---- layout ------------------------------------------------------------------------------

    def element_size(self) -> builtins.int:
        return self._data.itemsize

    def is_contiguous(self, memory_format: Any = None) -> builtins.bool:
        return builtins.bool(self._data.flags.c_contiguous)

    def stride(self, dim: builtins.int | None = None) -> Any:
        """Strides in elements (NumPy's are in bytes)."""
        s = tuple(b // self._data.itemsize for b in self._data.strides)
        return s if dim is None else s[dim]

    def ndimension(self) -> builtins.int:
        return self._data.ndim

    def nelement(self) -> builtins.int:
        return self._data.size
