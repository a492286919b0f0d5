"""``default_collate`` and ``default_convert``: samples into batches, as
``torch.utils.data.default_collate``. A module of their own (torch keeps them in
``torch.utils.data._utils.collate``) so that the DataLoader and its worker processes both import
them, one way."""

from __future__ import annotations

import collections.abc
import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor


def _collate_error(what: Any) -> TypeError:
    return TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, "
        f"dicts or lists; found {what}"
    )


def default_collate(batch: Sequence) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension, keeping their dtype;
    Python floats become a float64 tensor, ints int64, bools bool (PyTorch's choice, which
    differs from ``hg.tensor``'s float32 for Python floats); NumPy scalars keep their dtype;
    strings stay a list. Dicts collate per key, named tuples per field, and tuples and lists
    are transposed: a batch of ``(x, y)`` pairs becomes the list ``[X, Y]``."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(b.requires_grad for b in batch):
            return ops.stack(batch)  # differentiable, as torch.stack
        return Tensor._wrap(np.stack([b._data for b in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind in "SUOV":
            raise _collate_error(elem.dtype)
        return Tensor._wrap(np.stack(batch) if isinstance(elem, np.ndarray) else np.array(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping) and type(elem) is not dict:
            clone = copy.copy(elem)
            clone.update(out)
            return clone
        return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            sizes = sorted({len(b) for b in batch})
            raise RuntimeError(
                f"default_collate: each element in list of batch should be of "
                f"equal size, got sizes {sizes}"
            )
        return [default_collate(s) for s in zip(*batch)]
    raise _collate_error(type(elem))


def default_convert(data: Any) -> Any:
    """One sample with its NumPy arrays and scalars turned into tensors, recursing into
    dicts, tuples and lists (the collate of ``batch_size=None``); the rest is left as is."""
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SUOV" else Tensor._wrap(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (tuple, list)):
        return [default_convert(d) for d in data]
    return data


__all__ = ["default_collate", "default_convert"]
