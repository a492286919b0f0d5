"""The IDX file format of the MNIST database, read with NumPy (gzip or raw).

Layout, all integers big-endian: a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then
``ndim`` uint32 sizes, then the data in C order. For MNIST, images are magic 2051 (0x0803:
uint8, 3 dimensions N x 28 x 28) and labels 2049 (0x0801: uint8, 1 dimension N).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

_TYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.int16,
    0x0C: np.int32,
    0x0D: np.float32,
    0x0E: np.float64,
}
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def _describe(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    kind = np.dtype(_TYPES[code]).name if code in _TYPES else f"unknown type 0x{code:02x}"
    return f"{kind}, {ndim} dimension{'s' if ndim != 1 else ''}"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no such file {path}")
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # the gzip signature; an IDX file starts with two zero bytes
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"read_idx: {path}: the gzip stream is truncated or corrupt ({e})") from e


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """The array stored in the IDX file at ``path`` (gzip-compressed or raw, told apart by
    content, not by name), in native byte order.

    Checks that the file is IDX (two zero bytes, a known type code), that its magic number is
    ``magic`` when given, and that the data after the header is exactly the size the header
    declares. Each failure raises ``ValueError`` naming the file and what is wrong; a missing
    file raises ``FileNotFoundError``."""
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise ValueError(
            f"read_idx: {path}: truncated: {len(buf)} bytes, shorter than the 4-byte magic number"
        )
    found = int.from_bytes(buf[:4], "big")
    if buf[:2] != b"\x00\x00" or buf[2] not in _TYPES:
        raise ValueError(
            f"read_idx: {path}: not an IDX file: bad magic number {found} "
            f"(0x{found:08x}; IDX files start with 0x0000, then a type code "
            f"among {', '.join(f'0x{t:02x}' for t in _TYPES)})"
        )
    if magic is not None and found != magic:
        raise ValueError(
            f"read_idx: {path}: bad magic number {found} ({_describe(found)}), "
            f"expected {magic} ({_describe(magic)})"
        )
    dtype = np.dtype(_TYPES[buf[2]]).newbyteorder(">")
    ndim = buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(
            f"read_idx: {path}: truncated header: {ndim} dimensions need "
            f"{header} bytes, the file holds {len(buf)}"
        )
    shape = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape) * dtype.itemsize
    held = len(buf) - header
    what = f"{' x '.join(map(str, shape)) or 'a scalar'} {dtype.name}"
    if held < expected:
        raise ValueError(
            f"read_idx: {path}: truncated: the header declares {what} "
            f"({expected} bytes of data) but the file holds {held}"
        )
    if held > expected:
        raise ValueError(
            f"read_idx: {path}: {held - expected} bytes beyond the {what} "
            f"({expected} bytes of data) that the header declares"
        )
    data = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip when ``compress``, or by default when ``path`` ends
    with ``.gz``): the inverse of ``read_idx``."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(t): code for code, t in _TYPES.items()}
    if array.dtype not in codes:
        raise ValueError(
            f"write_idx: IDX cannot hold dtype {array.dtype}; use one of "
            f"{', '.join(np.dtype(t).name for t in _TYPES.values())}"
        )
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=array.dtype.newbyteorder(">")).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)
