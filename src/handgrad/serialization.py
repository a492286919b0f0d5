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

import glob
import io
import json
import os
import time
import zipfile
import zlib
from collections import OrderedDict
from typing import Any

import numpy as np

from ._tensor import Tensor
from .files import atomic_write

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
        return {
            "t": "tensor",
            "k": key,
            "requires_grad": bool(obj.requires_grad),
            "parameter": isinstance(obj, Parameter),
        }
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        if array.dtype.kind == "O":
            raise TypeError(
                f"save: {where} is an object array, which cannot be stored without pickle"
            )
        key = f"a{len(arrays)}"
        arrays[key] = array
        return {"t": "array" if isinstance(obj, np.ndarray) else "scalar", "k": key}
    if isinstance(obj, dict):
        items = [
            [_encode(k, arrays, f"a key of {where}"), _encode(v, arrays, f"{where}[{k!r}]")]
            for k, v in obj.items()
        ]
        return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {
            "t": type(obj).__name__ if type(obj) in (list, tuple) else "list",
            "v": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)],
        }
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
            raise TypeError(
                f"save: the file object {f!r} has no write() method (open it with mode 'wb')"
            )
        writer(f, **arrays)
        return
    _remove_stale_temporaries(os.fspath(f))
    with atomic_write(f) as out:
        writer(out, **arrays)


def load(f: str | os.PathLike | Any, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what ``save`` wrote, from a path or a binary file object (read from its current
    position; an unseekable stream is read into memory first). ``map_location`` and
    ``weights_only`` are accepted for PyTorch compatibility (handgrad has one device, and never
    unpickles).

    A file that is not a handgrad checkpoint, or a truncated or corrupt one, raises one
    ``ValueError`` that names the file and what is wrong (never a raw zip, JSON or key error);
    an archive whose declared size is absurd is refused before anything is inflated
    (``_check_archive``)."""
    if _is_file(f):
        if not hasattr(f, "read"):
            raise TypeError(
                f"load: the file object {f!r} has no read() method (open it with mode 'rb')"
            )
        source: Any = f if hasattr(f, "seek") else io.BytesIO(f.read())
        name = str(getattr(f, "name", type(f).__name__))
        start = source.tell()
        size = source.seek(0, os.SEEK_END) - start
        source.seek(start)
        _check_zip(name, source, size)
        source.seek(start)
    else:
        source = name = os.fspath(f)
        _check_archive(name)
    try:
        with np.load(source, allow_pickle=False) as archive:
            if _META not in archive.files:
                raise ValueError(
                    f"load: {name!r} is an .npz file but not a handgrad "
                    f"checkpoint (no {_META!r} entry)"
                )
            structure = json.loads(str(archive[_META][()]))
            if not isinstance(structure, dict) or structure.get("format") != _FORMAT:
                found = structure.get("format") if isinstance(structure, dict) else None
                raise ValueError(f"load: {name!r} has unsupported checkpoint format {found!r}")
            return _decode(structure["root"], archive)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(
            f"load: {name!r} is truncated or corrupt ({type(e).__name__}: {e})"
        ) from None
    except json.JSONDecodeError as e:
        raise ValueError(
            f"load: {name!r} has a corrupt structure entry (invalid JSON: {e})"
        ) from None
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(
            f"load: {name!r} is inconsistent: its structure refers to a missing or "
            f"malformed entry ({type(e).__name__}: {e})"
        ) from None


# An archive may inflate to at most this many times its size on disk (and at least 64 MiB is
# always allowed): np.savez stores arrays uncompressed (ratio ~1), savez_compressed of trained
# weights compresses little; a 2 MB file declaring 2 GB is a zip bomb or a corrupt header.
# HANDGRAD_LOAD_MAX_BYTES overrides the limit.
_MAX_RATIO = 256
_MIN_LIMIT = 64 * 2**20


def _check_archive(name: str) -> None:
    """Refuse, before inflating anything, a file that is not a zip archive or whose entries
    declare an absurd uncompressed size (in the zip directory or in an array's .npy header)."""
    if not os.path.exists(name):
        raise FileNotFoundError(f"load: no such file: {name!r}")
    if os.path.isdir(name):
        raise IsADirectoryError(f"load: {name!r} is a directory, not a checkpoint file")
    _check_zip(name, name, os.path.getsize(name))


def _check_zip(name: str, source: Any, size: int) -> None:
    """The archive checks of ``_check_archive`` on ``source`` (a path or a seekable binary file
    of ``size`` bytes from its current position)."""
    limit = int(os.environ.get("HANDGRAD_LOAD_MAX_BYTES", max(_MIN_LIMIT, _MAX_RATIO * size)))
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            declared = sum(i.file_size for i in infos)
            if declared > limit:
                raise ValueError(
                    f"load: {name!r} ({size} bytes) declares {declared} bytes uncompressed, more "
                    f"than the limit of {limit} (set HANDGRAD_LOAD_MAX_BYTES to allow it): "
                    "refused before inflating"
                )
            for info in infos:
                if info.filename.endswith(".npy"):
                    _check_npy_header(name, zf, info)
    except zipfile.BadZipFile as e:
        raise ValueError(
            f"load: {name!r} is not a handgrad checkpoint (not a zip/.npz archive, "
            f"or a truncated one: {e})"
        ) from None


def _check_npy_header(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """An array whose .npy header declares more bytes than its entry holds would make NumPy
    allocate that much before failing: read only the header and compare."""
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(f)
    except (ValueError, zlib.error, zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(
            f"load: {name!r}: entry {info.filename!r} is not a valid array "
            f"({type(e).__name__}: {e})"
        ) from None
    needed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if dtype.kind != "O" and needed > info.file_size:
        raise ValueError(
            f"load: {name!r}: entry {info.filename!r} declares an array of shape "
            f"{shape} ({needed} bytes) but holds {info.file_size} bytes: corrupt"
        )


def _remove_stale_temporaries(path: str, age: float = 60.0) -> None:
    """Delete temporaries of this target left by an interrupted save (``.{name}.*.tmp`` in
    its folder, untouched for ``age`` seconds: a save in progress elsewhere keeps its own)."""
    folder = os.path.dirname(os.path.abspath(path))
    pattern = os.path.join(glob.escape(folder), f".{glob.escape(os.path.basename(path))}.*.tmp")
    now = time.time()
    for tmp in glob.glob(pattern):
        try:
            if now - os.path.getmtime(tmp) > age:
                os.unlink(tmp)
        except OSError:
            pass  # gone already, or not ours to delete


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


def to_torch_state_dict(model: Any) -> OrderedDict[str, Any]:
    """The model's ``state_dict`` as ``torch.Tensor`` copies, ready for a PyTorch model's
    ``load_state_dict``. Imports torch (only here)."""
    import torch

    return OrderedDict(
        (k, torch.from_numpy(np.array(v._data, copy=True))) for k, v in model.state_dict().items()
    )


__all__ = ["save", "load", "load_torch_state_dict", "to_torch_state_dict"]
