"""Tensors in shared memory: ``Tensor.share_memory_()``, ``Tensor.is_shared()``.

``share_memory_`` moves a tensor's array into a POSIX shared-memory segment
(``multiprocessing.shared_memory``). A forked process inherits the mapping; a spawned one
receives the tensor through multiprocessing's pickler, for which NumPy arrays that live in a
segment are reduced to (segment name, offset, shape, strides, dtype) and attached again on the
other side instead of being copied. Both sides then read and write the same bytes: Hogwild
training, where every process steps the same weights in place.

The creating process unlinks its segments at exit (the mappings that other processes hold stay
valid until they exit). Segments are never closed while the process runs: arrays may still
point into them, and closing a mapping under a live array would crash on the next access.
"""

from __future__ import annotations

import atexit
import os
from multiprocessing import reduction, shared_memory
from typing import Any

import numpy as np

from ._tensor_base import TensorBase as Tensor


class _Segment(shared_memory.SharedMemory):
    # SharedMemory.__del__ closes the mapping, which fails while NumPy arrays still export its
    # buffer (at interpreter exit); the operating system unmaps it when the process ends.
    def __del__(self) -> None:
        pass


_SEGMENTS: dict[str, tuple[_Segment, int]] = {}  # name -> (segment, address of its first byte)
_CREATED: list[str] = []
_OWNER = os.getpid()
_REGISTERED = False


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _find(a: np.ndarray) -> tuple[str, int] | None:
    """(segment name, byte offset) of the segment holding ``a``'s first byte, or None."""
    if not _SEGMENTS:
        return None
    start = _address(a)
    for name, (segment, base) in _SEGMENTS.items():
        if base <= start < base + segment.size:
            return name, start - base
    return None


def _rebuild(name: str, offset: int, shape: tuple, strides: tuple, dtype: str) -> np.ndarray:
    if name not in _SEGMENTS:
        segment = _Segment(name=name)
        _SEGMENTS[name] = (segment, _address(np.frombuffer(segment.buf, np.uint8)))
    _register()  # so that this process can pass the array on in turn
    segment = _SEGMENTS[name][0]
    return np.ndarray(shape, np.dtype(dtype), buffer=segment.buf, offset=offset, strides=strides)


def _reduce_array(a: np.ndarray) -> Any:
    where = _find(a)
    if where is None:
        return a.__reduce__()
    return _rebuild, (where[0], where[1], a.shape, a.strides, a.dtype.str)


def _register() -> None:
    """Teach multiprocessing's pickler (queues, Process arguments under spawn) to pass shared
    arrays by reference. Only that pickler: ``pickle.dumps`` and ``hg.save`` still copy."""
    global _REGISTERED
    if not _REGISTERED:
        reduction.ForkingPickler.register(np.ndarray, _reduce_array)
        _REGISTERED = True


def _unlink_created() -> None:
    if os.getpid() != _OWNER:  # a forked child that exits normally must not unlink
        return
    for name in _CREATED:
        try:
            _SEGMENTS[name][0].unlink()
        except FileNotFoundError:
            pass


atexit.register(_unlink_created)


def shared_array(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` in a new shared-memory segment."""
    _register()
    segment = _Segment(create=True, size=max(a.nbytes, 1))
    _SEGMENTS[segment.name] = (segment, _address(np.frombuffer(segment.buf, np.uint8)))
    _CREATED.append(segment.name)
    out = np.ndarray(a.shape, a.dtype, buffer=segment.buf)
    out[...] = a
    return out


def is_shared(self: Tensor) -> bool:
    """Whether the tensor's data lives in shared memory (``Tensor.is_shared``)."""
    return _find(self._data) is not None


def share_memory_(self: Tensor) -> Tensor:
    """Move the tensor's data to shared memory, in place (``Tensor.share_memory_``); a no-op
    when it is there already. Views taken before the move keep the old memory, as the
    tensor gets a new array (torch moves the storage under its views; handgrad has no storage
    object to move)."""
    if not is_shared(self):
        self._data = shared_array(self._data)
    return self
