"""Checkpoints: ``save``/``load`` to NumPy ``.npz`` files, and weight interchange with PyTorch.

``save(obj, path)`` stores nested dicts, lists and tuples of tensors, arrays, numbers, strings,
booleans and ``None`` (a model's ``state_dict()`` beside an optimizer's, an epoch counter, ...).
Arrays go into the archive as entries; the nesting is a JSON description in one more entry, so
``load`` never unpickles anything (``np.load(allow_pickle=False)``): loading a checkpoint cannot
run code.

``save`` and ``load`` take a path or a binary file object (``open(..., "wb")``, ``io.BytesIO``),
as ``torch.save``/``torch.load`` do. Whole objects (a ``Module``, an ``Optimizer``) are refused:
storing them would need pickle, and a checkpoint that can run code when loaded is not worth the
convenience; save ``state_dict()`` and rebuild the model in code, as PyTorch's own docs advise.

Writing to a path is atomic (``handgrad.files.atomic_write``): the archive is written to a
temporary file in the destination's folder, flushed to disk (``fsync``) and renamed over the
destination (``os.replace``, atomic on POSIX and Windows). A crash leaves either the old file or
the new one, never half of one. The file gets the permissions ``open(path, "wb")`` would give.

PyTorch is not imported here at module level: ``load_torch_state_dict`` accepts anything with
``.detach().cpu().numpy()``, and only ``to_torch_state_dict`` imports torch (lazily).
"""

from __future__ import annotations

import io
import json
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from .files import atomic_write
from .tensor import Tensor

_META = "__handgrad_structure__"
_FORMAT = 1


def _encode(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, np.generic):
        return obj
    if isinstance(obj, Tensor):
        from .nn.module import Parameter

        key = f"a{len(arrays)}"
        arrays[key] = obj._data
        return {"t": "tensor", "k": key, "requires_grad": bool(obj.requires_grad),
                "parameter": isinstance(obj, Parameter)}
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        if array.dtype.kind == "O":
            raise TypeError(f"save: {where} is an object array, which cannot be stored without "
                            "pickle")
        key = f"a{len(arrays)}"
        arrays[key] = array
        return {"t": "array" if isinstance(obj, np.ndarray) else "scalar", "k": key}
    if isinstance(obj, dict):
        items = [[_encode(k, arrays, f"a key of {where}"), _encode(v, arrays, f"{where}[{k!r}]")]
                 for k, v in obj.items()]
        return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"t": type(obj).__name__ if type(obj) in (list, tuple) else "list",
                "v": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if hasattr(obj, "state_dict"):
        raise TypeError(
            f"save: {where} is a whole {type(obj).__name__}; handgrad does not pickle objects (a "
            "checkpoint must not be able to run code when loaded), so save its state_dict() "
            "instead, e.g. hg.save(model.state_dict(), path), and rebuild the object in code "
            "before load_state_dict(hg.load(path))"
        )
    raise TypeError(
        f"save: cannot store {where} of type {type(obj).__name__} (supported: tensors, NumPy "
        "arrays, numbers, strings, booleans, None, and dicts/lists/tuples of them)"
    )


def _decode(node: Any, archive: Any) -> Any:
    if not isinstance(node, dict):
        return node
    kind = node["t"]
    if kind == "tensor":
        array = np.array(archive[node["k"]])
        if node.get("parameter"):
            from .nn.module import Parameter

            return Parameter(array, requires_grad=node["requires_grad"])
        t = Tensor._wrap(array)
        if node["requires_grad"]:
            t.requires_grad = True
        return t
    if kind == "array":
        return np.array(archive[node["k"]])
    if kind == "scalar":
        return archive[node["k"]][()]
    if kind in ("dict", "odict"):
        items = ((_key(_decode(k, archive)), _decode(v, archive)) for k, v in node["items"])
        return OrderedDict(items) if kind == "odict" else dict(items)
    if kind == "list":
        return [_decode(v, archive) for v in node["v"]]
    if kind == "tuple":
        return tuple(_decode(v, archive) for v in node["v"])
    raise ValueError(f"load: unknown entry kind {kind!r} (a file written by a newer handgrad?)")


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def _is_file(f: Any) -> bool:
    return hasattr(f, "write") or hasattr(f, "read")


def save(obj: Any, f: str | os.PathLike | Any, compress: bool = False) -> None:
    """Write ``obj`` to ``f`` (a path, written atomically, or a binary file object) as an
    ``.npz`` archive. ``compress=True`` uses ``np.savez_compressed``."""
    arrays: dict[str, np.ndarray] = {}
    structure = {"format": _FORMAT, "root": _encode(obj, arrays, "the object")}
    arrays[_META] = np.array(json.dumps(structure))
    writer = np.savez_compressed if compress else np.savez
    if _is_file(f):
        if not hasattr(f, "write"):
            raise TypeError(f"save: the file object {f!r} has no write() method (open it "
                            "with mode 'wb')")
        writer(f, **arrays)
        return
    with atomic_write(f) as out:
        writer(out, **arrays)


def load(f: str | os.PathLike | Any, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what ``save`` wrote, from a path or a binary file object (read from its current
    position). ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility
    (handgrad has one device, and never unpickles)."""
    if _is_file(f):
        if not hasattr(f, "read"):
            raise TypeError(f"load: the file object {f!r} has no read() method (open it "
                            "with mode 'rb')")
        source: Any = f if hasattr(f, "seek") else io.BytesIO(f.read())
        name = getattr(f, "name", type(f).__name__)
    else:
        source = name = os.fspath(f)
    with np.load(source, allow_pickle=False) as archive:
        if _META not in archive.files:
            raise ValueError(f"load: {name!r} is an .npz file but not a handgrad "
                             f"checkpoint (no {_META!r} entry)")
        structure = json.loads(str(archive[_META][()]))
        if structure.get("format") != _FORMAT:
            raise ValueError(f"load: unsupported checkpoint format {structure.get('format')!r}")
        return _decode(structure["root"], archive)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def load_torch_state_dict(model: Any, torch_state_dict: dict, strict: bool = True) -> tuple:
    """Copy a PyTorch ``state_dict`` (parameter and buffer names as keys) into a handgrad
    model with the same architecture; values are converted with ``.detach().cpu().numpy()``.
    Key or shape mismatches raise an error that lists them (``Module.load_state_dict``).
    Returns (missing_keys, unexpected_keys)."""
    converted = OrderedDict((k, _to_numpy(v)) for k, v in torch_state_dict.items())
    return model.load_state_dict(converted, strict=strict)


def to_torch_state_dict(model: Any) -> "OrderedDict[str, Any]":
    """The model's ``state_dict`` as ``torch.Tensor`` copies, ready for a PyTorch model's
    ``load_state_dict``. Imports torch (only here)."""
    import torch

    return OrderedDict((k, torch.from_numpy(np.array(v._data, copy=True)))
                       for k, v in model.state_dict().items())


__all__ = ["save", "load", "load_torch_state_dict", "to_torch_state_dict"]
