"""Output sizes of convolutions, transposed convolutions and pooling: PyTorch's formulas, per
spatial axis, with an error that says why when a configuration has no output.

    convolution     out = floor((n + 2p - d (k - 1) - 1) / s) + 1
    transposed      out = (n - 1) s - 2p + d (k - 1) + q + 1     (q = output_padding < max(s, d))
    pooling         out as a convolution, or with ceil_mode rounded up unless the last window
                    would start in the right padding; p <= k / 2

Every argument is an int or a tuple with one entry per axis; the result is an int when ``size``
is an int and a tuple otherwise. ``padding`` of a convolution may also be 'valid' or 'same'.
"""

from __future__ import annotations

from typing import Any

from ..ops.pool import _pool_out_len

Size = Any  # int | tuple[int, ...]


def _axes(fn: str, size: Size, **params: Any) -> tuple[int, bool, dict]:
    scalar = isinstance(size, int)
    sizes = (size,) if scalar else tuple(size)
    n = len(sizes)
    out = {}
    for name, v in params.items():
        if v is None or isinstance(v, (str, int)):
            out[name] = (v,) * n
        else:
            v = tuple(v)
            if len(v) == 1:
                v = v * n
            if len(v) != n:
                raise ValueError(f"{fn}: {name}={v} has {len(v)} entries but size {size} has {n}")
            out[name] = v
    for name in ("kernel_size", "stride", "dilation"):
        if name in out and any(v is not None and v < 1 for v in out[name]):
            raise ValueError(f"{fn}: {name} must be >= 1, got {params[name]}")
    for name in ("padding", "output_padding"):
        if name in out and any(isinstance(v, int) and v < 0 for v in out[name]):
            raise ValueError(f"{fn}: {name} must be >= 0, got {params[name]}")
    if any(s < 0 for s in sizes):
        raise ValueError(f"{fn}: size must be >= 0, got {size}")
    return sizes, scalar, out


def _result(values: list, scalar: bool) -> Size:
    return values[0] if scalar else tuple(values)


def conv_output_size(
    size: Size, kernel_size: Size, stride: Size = 1, padding: Any = 0, dilation: Size = 1
) -> Size:
    """The output size of ``conv1d``/``conv2d`` (Conv1d/Conv2d) for an input of ``size``."""
    fn = "conv_output_size"
    sizes, scalar, a = _axes(
        fn, size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )
    out = []
    for i, n in enumerate(sizes):
        k, s, p, d = a["kernel_size"][i], a["stride"][i], a["padding"][i], a["dilation"][i]
        extent = d * (k - 1) + 1
        if p == "valid":
            lo = hi = 0
        elif p == "same":
            if s != 1:
                raise ValueError(f"{fn}: padding='same' needs stride 1, got stride {s}")
            lo, hi = (extent - 1) // 2, extent - 1 - (extent - 1) // 2
        elif isinstance(p, str):
            raise ValueError(f"{fn}: padding must be an int, 'valid' or 'same', got {p!r}")
        else:
            lo = hi = p
        if n + lo + hi < extent:
            raise ValueError(
                f"{fn}: no output along axis {i}: the kernel ({k} taps, dilation {d}, extent "
                f"{extent}) is larger than the padded input ({n} + {lo} + {hi} = {n + lo + hi})"
            )
        out.append((n + lo + hi - extent) // s + 1)
    return _result(out, scalar)


def conv_transpose_output_size(
    size: Size,
    kernel_size: Size,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    dilation: Size = 1,
) -> Size:
    """The output size of ``conv_transpose1d``/``conv_transpose2d`` for an input of ``size``."""
    fn = "conv_transpose_output_size"
    sizes, scalar, a = _axes(
        fn,
        size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    out = []
    for i, n in enumerate(sizes):
        k, s, p = a["kernel_size"][i], a["stride"][i], a["padding"][i]
        q, d = a["output_padding"][i], a["dilation"][i]
        if q >= max(s, d):
            raise ValueError(
                f"{fn}: output_padding {q} must be smaller than the stride {s} or "
                f"the dilation {d} (axis {i})"
            )
        m = (n - 1) * s - 2 * p + d * (k - 1) + q + 1
        if n < 1 or m < 1:
            raise ValueError(
                f"{fn}: no output along axis {i}: ({n} - 1) * {s} - 2 * {p} + {d} * ({k} - 1) + "
                f"{q} + 1 = {m}"
            )
        out.append(m)
    return _result(out, scalar)


def pool_output_size(
    size: Size,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
) -> Size:
    """The output size of max/avg/lp pooling (stride defaults to the kernel size)."""
    fn = "pool_output_size"
    sizes, scalar, a = _axes(
        fn, size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )
    out = []
    for i, n in enumerate(sizes):
        k, p, d = a["kernel_size"][i], a["padding"][i], a["dilation"][i]
        s = a["stride"][i] if a["stride"][i] is not None else k
        if p > k // 2:
            raise ValueError(
                f"{fn}: padding {p} must be at most half the kernel size {k} (axis {i})"
            )
        m = _pool_out_len(n, k, s, p, d, ceil_mode)
        if m < 1:
            raise ValueError(
                f"{fn}: no output along axis {i}: the window ({k} taps, dilation {d}, extent "
                f"{d * (k - 1) + 1}) is larger than the padded input ({n} + 2 * {p})"
            )
        out.append(m)
    return _result(out, scalar)


__all__ = ["conv_output_size", "conv_transpose_output_size", "pool_output_size"]
