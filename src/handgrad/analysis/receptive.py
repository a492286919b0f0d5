"""Receptive fields of a stack of layers: for each layer, the size ``rf`` of the input region one
output unit sees, the distance ``jump`` in input pixels between neighbouring units (the effective
stride) and the position ``start`` of the centre of unit 0's region (input pixel centres are
0, 1, ..., n - 1).

The arithmetic, per spatial axis. A layer maps its output unit o to the position ``a o + b`` of
its own input and reads a span of ``w`` input units around it. Starting from the network input
(``r = 1, j = 1, start = 0``):

    r_out     = r_in + w j_in
    j_out     = j_in a
    start_out = start_in + b j_in

- convolution and pooling (kernel k, stride s, dilation d, padding p):
  ``a = s``, ``b = (k - 1) d / 2 - p``, ``w = (k - 1) d``, so
  ``r_out = r_in + (k - 1) d j_in``, ``j_out = j_in s``, ``start_out = start_in + ((k - 1) d / 2
  - p) j_in``;
- transposed convolution: input unit i is scattered to outputs ``o = i s + t d - p``, so the
  inputs output o reads are ``(o + p - t d) / s`` for the taps t that make it an integer: they lie
  within ``(k - 1) d / (2 s)`` of ``(o + p - (k - 1) d / 2) / s``. So ``a = 1 / s``,
  ``b = (p - (k - 1) d / 2) / s``, ``w = (k - 1) d / s``: the jump becomes a fraction of a pixel,
  and the field a band of that continuous width, within which each unit reads one input in s
  along the band (which ones depends on the unit's position);
- adaptive pooling and resizing (nearest, linear, area) from n to m units: ``a = n / m``,
  ``b = (a - 1) / 2`` (``a = (n - 1) / (m - 1)``, ``b = 0`` with align_corners), ``w`` twice the
  largest distance between an output's position and an input it reads;
- element-wise layers (ReLU, BatchNorm, Dropout, anything that keeps the spatial shape):
  ``a = 1, b = 0, w = 0``;
- Flatten and Linear see the whole input: ``rf`` is the input size, ``jump`` and ``start`` None.

For convolution and pooling stacks these are the textbook integers; transposed convolutions and
resizing make them fractions. Unit i of a layer reads inputs within ``start + i jump +-
(rf - 1) / 2`` (``region``; by induction over the layers, since every layer's reads lie within
``w / 2`` of its position ``a o + b``). That is the textbook field; the exact set of input pixels
unit i depends on (``support``) may be smaller: it has holes
with dilation or strides larger than the kernel, and is clipped where the padding, or a row a
strided layer never reads, would be. ``support`` composes each layer's dependency matrix (which
inputs each output reads) through the stack, so it is exact for every layer kind above; the
tests check it against the non-zero set of real gradients.

Layers are recognised by their attributes and class names (duck typing), so any module with
PyTorch's ``kernel_size``/``stride``/``padding``/``dilation`` attributes works. Used in
exercises 000-a4b and 001-q1h.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..composed.resample import _area_matrix, _linear_matrix, _nearest_matrix
from ..ops.pool import _adaptive_windows
from ..ops.shape import _pad_source
from .shapes import conv_output_size, conv_transpose_output_size, pool_output_size
from .table import format_cell, format_table

Number = Any  # int | float


def _num(x: Fraction | None) -> Number:
    if x is None:
        return None
    return int(x) if x.denominator == 1 else float(x)


def _per_axis(value: Any, nd: int, default: Any = None) -> tuple:
    if value is None:
        value = default
    if isinstance(value, (int, np.integer, float, str)) or value is None:
        return (value,) * nd
    value = tuple(value)
    return value * nd if len(value) == 1 else value[-nd:]


@dataclass
class _AxisMap:
    """One layer along one axis: output size, dependency matrix (out x in, bool) and the
    position map o -> a o + b with the read span w (None for a global layer)."""

    n_out: int
    deps: np.ndarray
    a: Fraction | None
    b: Fraction | None
    w: Fraction | None


def _conv_axis(n: int, k: int, s: int, d: int, lo: int, hi: int, n_out: int) -> _AxisMap:
    deps = np.zeros((n_out, n), dtype=bool)
    o = np.arange(n_out)
    for t in range(k):
        i = o * s + t * d - lo
        ok = (i >= 0) & (i < n)
        deps[o[ok], i[ok]] = True
    return _AxisMap(n_out, deps, Fraction(s), Fraction((k - 1) * d, 2) - lo, Fraction((k - 1) * d))


def _pad_axis(n: int, lo: int, hi: int, mode: str) -> _AxisMap:
    """A padding layer along one axis: output j reads input j - lo (constant padding reads
    nothing outside), or its mirrored, repeated or wrapped source (``_pad_source``)."""
    if (mode == "reflect" and max(lo, hi) >= n) or (mode == "circular" and max(lo, hi) > n):
        raise ValueError(f"{mode} padding {(lo, hi)} does not fit a size of {n}")
    n_out = n + lo + hi
    deps = np.zeros((n_out, n), dtype=bool)
    j = np.arange(n_out)
    if mode in ("constant", "zeros"):
        i = j - lo
        ok = (i >= 0) & (i < n)
        deps[j[ok], i[ok]] = True
    else:
        deps[j, _pad_source(mode, n, lo, hi)] = True
    return _AxisMap(n_out, deps, Fraction(1), Fraction(-lo), Fraction(0))


def _then(first: _AxisMap, second: _AxisMap) -> _AxisMap:
    """The map of ``first`` followed by ``second`` (positions of second's output in first's
    input)."""
    deps = (second.deps.astype(np.int64) @ first.deps.astype(np.int64)) > 0
    return _AxisMap(
        second.n_out,
        deps,
        second.a * first.a,
        first.b + second.b * first.a,
        first.w + second.w * first.a,
    )


def _transposed_axis(n: int, k: int, s: int, d: int, p: int, n_out: int) -> _AxisMap:
    deps = np.zeros((n_out, n), dtype=bool)
    i = np.arange(n)
    for t in range(k):
        o = i * s + t * d - p
        ok = (o >= 0) & (o < n_out)
        deps[o[ok], i[ok]] = True
    return _AxisMap(
        n_out, deps, Fraction(1, s), (p - Fraction((k - 1) * d, 2)) / s, Fraction((k - 1) * d, s)
    )


def _resize_axis(n: int, m: int, matrix: np.ndarray, align_corners: bool = False) -> _AxisMap:
    deps = matrix != 0
    if align_corners:
        a = Fraction(n - 1, m - 1) if m > 1 else Fraction(0)
        b = Fraction(0)
    else:
        a = Fraction(n, m)
        b = (a - 1) / 2
    # The width: twice the farthest any input an output reads lies from the output's position.
    half = Fraction(0)
    for o, row in enumerate(deps):
        for i in np.nonzero(row)[0]:
            half = max(half, abs(int(i) - (a * o + b)))
    return _AxisMap(m, deps, a, b, 2 * half)


def _adaptive_axis(n: int, m: int) -> _AxisMap:
    start, end = _adaptive_windows(n, m)
    cols = np.arange(n)
    deps = (cols >= start[:, None]) & (cols < end[:, None])
    return _resize_axis(n, m, deps.astype(float))


# ---- recognising layers -----------------------------------------------------------------------


def _flatten_layers(model: Any) -> list[tuple[str, Any]]:
    """(name, layer) pairs in order: a Sequential (or list) is expanded recursively."""
    if isinstance(model, (list, tuple)):
        out = []
        for i, m in enumerate(model):
            for name, sub in _flatten_layers(m):
                out.append((f"{i}" + (f".{name}" if name else ""), sub))
        return out
    children = getattr(model, "_modules", None)
    if children and type(model).__name__ in ("Sequential", "ModuleList"):
        out = []
        for key, m in children.items():
            for name, sub in _flatten_layers(m):
                out.append((f"{key}" + (f".{name}" if name else ""), sub))
        return out
    return [("", model)]


def _kind(layer: Any) -> str:
    name = type(layer).__name__
    if name in ("Unfold", "Fold"):
        return "unsupported"
    if "Pad" in name and hasattr(layer, "padding") and not hasattr(layer, "kernel_size"):
        return "pad"
    if hasattr(layer, "kernel_size") and (
        "Transpose" in name or getattr(layer, "transposed", False)
    ):
        return "transposed"
    if "Adaptive" in name and hasattr(layer, "output_size"):
        return "adaptive"
    if "Upsampl" in name or (hasattr(layer, "scale_factor") and hasattr(layer, "mode")):
        return "resize"
    if hasattr(layer, "kernel_size"):
        return "conv" if hasattr(layer, "out_channels") or hasattr(layer, "weight") else "pool"
    if name in ("Flatten", "Linear", "LazyLinear", "Bilinear") or hasattr(layer, "in_features"):
        return "global"
    return "elementwise"


def _run_shape(layer: Any, shape: tuple) -> tuple:
    """The output shape of an unrecognised layer: run it on zeros, in eval mode and without
    recording (so batch statistics and dropout masks stay untouched)."""
    from ..creation import zeros

    modes = []
    if hasattr(layer, "modules") and hasattr(layer, "training"):
        modes = [(m, m.training) for m in layer.modules()]
        layer.eval()
    try:
        with no_grad():
            out = layer(zeros(*shape))
    except Exception as e:
        raise RuntimeError(
            f"cannot run layer {_label(layer)} on an input of shape {shape}: {e}"
        ) from e
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    if isinstance(out, tuple):
        out = out[0]
    return tuple(out.shape)


def _label(layer: Any) -> str:
    if hasattr(layer, "forward"):
        return type(layer).__name__
    return getattr(layer, "__name__", type(layer).__name__)


def _describe(layer: Any, shape: tuple, nd: int) -> tuple[str, tuple, list[_AxisMap] | None]:
    """(kind, output shape, per-axis maps) of one layer for an input of ``shape``."""
    kind = _kind(layer)
    where = f"layer {_label(layer)} (input shape {shape})"
    spatial = shape[2:] if len(shape) == nd + 2 else ()
    if kind == "unsupported":
        raise ValueError(
            f"receptive_field: {where}: Unfold/Fold change the layout of the "
            "tensor; their receptive field is not defined here"
        )
    if kind in ("conv", "transposed", "pool", "adaptive", "resize", "pad") and not spatial:
        raise ValueError(f"receptive_field: {where}: expected an input with {nd} spatial dims")
    k_dims = getattr(layer, "kernel_size", None)
    if isinstance(k_dims, tuple) and len(k_dims) not in (1, nd):
        raise ValueError(
            f"receptive_field: {where}: a {len(k_dims)}-D layer on an input with "
            f"{nd} spatial dims (1-D and 2-D layers are analysed)"
        )
    try:
        if kind == "pad":
            widths = tuple(layer.padding)
            if len(widths) != 2 * nd:
                raise ValueError(f"padding {widths} does not pad {nd} spatial dims")
            mode = getattr(layer, "_mode", "constant")
            pairs = [
                (widths[2 * (nd - 1 - ax)], widths[2 * (nd - 1 - ax) + 1]) for ax in range(nd)
            ]  # F.pad lists the last dim first
            maps = [_pad_axis(n, lo, hi, mode) for n, (lo, hi) in zip(spatial, pairs)]
            return kind, shape[:2] + tuple(m.n_out for m in maps), maps
        if kind in ("conv", "pool"):
            k = _per_axis(layer.kernel_size, nd)
            s = _per_axis(getattr(layer, "stride", None), nd, default=k)
            s = tuple(si if si is not None else ki for si, ki in zip(s, k))
            d = _per_axis(getattr(layer, "dilation", 1), nd, default=1)
            padding = getattr(layer, "padding", 0)
            ceil = bool(getattr(layer, "ceil_mode", False))
            if kind == "conv":
                p = _per_axis(padding, nd, default=0)
                out_sp = conv_output_size(spatial, k, s, p, d)
                pads = []
                for pi, ki, di in zip(p, k, d):
                    if pi == "same":
                        t = (ki - 1) * di
                        pads.append((t // 2, t - t // 2))
                    elif pi == "valid":
                        pads.append((0, 0))
                    else:
                        pads.append((pi, pi))
                channels = getattr(layer, "out_channels", None)
                if channels is None:
                    channels = layer.weight.shape[0]
            else:
                p = _per_axis(padding, nd, default=0)
                out_sp = pool_output_size(spatial, k, s, p, d, ceil)
                pads = [(pi, pi) for pi in p]
                channels = shape[1]
            mode = getattr(layer, "padding_mode", "zeros")
            if mode == "zeros":
                maps = [
                    _conv_axis(n, ki, si, di, lo, hi, m)
                    for n, ki, si, di, (lo, hi), m in zip(spatial, k, s, d, pads, out_sp)
                ]
            else:  # the layer pads with F.pad (reflect, ...) and then convolves unpadded
                maps = [
                    _then(_pad_axis(n, lo, hi, mode), _conv_axis(n + lo + hi, ki, si, di, 0, 0, m))
                    for n, ki, si, di, (lo, hi), m in zip(spatial, k, s, d, pads, out_sp)
                ]
            return kind, (shape[0], channels) + tuple(out_sp), maps
        if kind == "transposed":
            k = _per_axis(layer.kernel_size, nd)
            s = _per_axis(getattr(layer, "stride", 1), nd, default=1)
            d = _per_axis(getattr(layer, "dilation", 1), nd, default=1)
            p = _per_axis(getattr(layer, "padding", 0), nd, default=0)
            q = _per_axis(getattr(layer, "output_padding", 0), nd, default=0)
            out_sp = conv_transpose_output_size(spatial, k, s, p, q, d)
            channels = getattr(layer, "out_channels", None)
            if channels is None:
                channels = layer.weight.shape[1] * getattr(layer, "groups", 1)
            maps = [
                _transposed_axis(n, ki, si, di, pi, m)
                for n, ki, si, di, pi, m in zip(spatial, k, s, d, p, out_sp)
            ]
            return kind, (shape[0], channels) + tuple(out_sp), maps
        if kind == "adaptive":
            size = _per_axis(layer.output_size, nd)
            out_sp = tuple(n if m is None else int(m) for n, m in zip(spatial, size))
            maps = [_adaptive_axis(n, m) for n, m in zip(spatial, out_sp)]
            return kind, shape[:2] + out_sp, maps
        if kind == "resize":
            out_shape = _run_shape(layer, shape)
            out_sp = out_shape[2:]
            mode = getattr(layer, "mode", "nearest")
            sf = getattr(layer, "scale_factor", None)
            recompute = bool(getattr(layer, "recompute_scale_factor", False))
            scales = _per_axis(None if recompute else sf, nd)
            align = bool(getattr(layer, "align_corners", False))
            maps = []
            for n, m, sc in zip(spatial, out_sp, scales):
                sc = None if sc is None else float(sc)
                if mode in ("linear", "bilinear"):
                    mat = _linear_matrix(n, m, sc, align)
                elif mode == "area":
                    mat = _area_matrix(n, m)
                else:
                    mat = _nearest_matrix(n, m, sc, mode == "nearest-exact")
                maps.append(_resize_axis(n, m, mat, align and mode in ("linear", "bilinear")))
            return kind, out_shape, maps
    except ValueError as e:
        raise ValueError(f"receptive_field: {where}: {e}") from None
    out_shape = _run_shape(layer, shape)
    if kind == "global" or len(out_shape) != len(shape) or out_shape[2:] != tuple(spatial):
        if kind == "elementwise" and len(out_shape) == len(shape) and spatial:
            raise ValueError(
                f"receptive_field: {where}: an unrecognised layer changed the spatial shape "
                f"{tuple(spatial)} -> {out_shape[2:]}; give it kernel_size/stride/padding/"
                "dilation attributes so it can be analysed"
            )
        return "global", out_shape, None
    return (
        "elementwise",
        out_shape,
        [
            _AxisMap(n, np.eye(n, dtype=bool), Fraction(1), Fraction(0), Fraction(0))
            for n in spatial
        ],
    )


# ---- the records ------------------------------------------------------------------------------


@dataclass
class LayerRF:
    """The receptive field of the units of one layer's output. ``rf``, ``jump`` and ``start`` are
    numbers for a 1-D network and (h, w) tuples for a 2-D one (see the module docstring)."""

    index: int
    name: str
    kind: str
    layer: Any = field(repr=False)
    output_shape: tuple
    rf: Any
    jump: Any
    start: Any
    _support: list = field(repr=False, default_factory=list)
    _nd: int = field(repr=False, default=2)
    _exact: tuple = field(repr=False, default=())  # (rf, jump, start) as Fractions per axis

    def _axes(self, value: Any) -> tuple:
        return value if self._nd > 1 else (value,)

    def region(self, index: Any) -> Any:
        """The textbook field of output unit ``index`` (an int or an (i, j) pair): inclusive
        (first, last) input positions per axis, ``start + i jump -+ (rf - 1) / 2``, not clipped
        to the input."""
        idx = self._axes(index)
        if self.jump is None:
            out = tuple((0, n - 1) for n in self._axes(self.rf))
        else:
            out = tuple(
                (_num(s + i * j - (r - 1) / 2), _num(s + i * j + (r - 1) / 2))
                for i, (r, j, s) in zip(idx, self._exact)
            )
        return out if self._nd > 1 else out[0]

    def support(self, index: Any) -> Any:
        """The exact input positions output unit ``index`` depends on, one sorted array per axis
        (the set is their product): dependency matrices composed through the stack, so padding,
        holes and the rows a strided layer skips are accounted for."""
        idx = self._axes(index)
        out = tuple(np.nonzero(m[i])[0] for m, i in zip(self._support, idx))
        return out if self._nd > 1 else out[0]

    def support_mask(self, index: Any) -> np.ndarray:
        """``support`` as a boolean mask over the input's spatial shape."""
        axes = [m[i] for m, i in zip(self._support, self._axes(index))]
        mask = axes[0]
        for a in axes[1:]:
            mask = mask[..., None] & a
        return mask


class ReceptiveField(list):
    """The records of ``receptive_field``, one per layer, in order; printing gives a table."""

    input_shape: tuple = ()

    def __str__(self) -> str:
        head = ["#", "layer", "output shape", "rf", "jump", "start"]
        rows = [
            [
                str(r.index),
                r.name,
                str(r.output_shape),
                format_cell(r.rf),
                format_cell(r.jump),
                format_cell(r.start),
            ]
            for r in self
        ]
        nd = len(self.input_shape) - 2
        one, zero = ("(1, 1)", "(0, 0)") if nd > 1 else ("1", "0")
        return format_table(head, [["", "input", str(self.input_shape), one, one, zero]] + rows)


def _pack(values: Sequence, nd: int) -> Any:
    values = tuple(_num(v) if isinstance(v, Fraction) or v is None else v for v in values)
    return values if nd > 1 else values[0]


def receptive_field(model: Any, input_shape: Sequence[int]) -> ReceptiveField:
    """Receptive field, jump and start of every layer of ``model`` (an nn.Sequential, a module
    or a list of layers) for an input of ``input_shape`` = (N, C, L) or (N, C, H, W).

    Returns a list of ``LayerRF`` records (printable as a table); ``rf``, ``jump``, ``start`` are
    numbers for 1-D inputs and (h, w) tuples for 2-D ones; ``record.support(index)`` is the exact
    set of input positions a unit depends on. The arithmetic is in the module docstring.
    """
    shape = tuple(int(n) for n in input_shape)
    nd = len(shape) - 2
    if nd not in (1, 2):
        raise ValueError(
            f"receptive_field: input_shape must be (N, C, L) or (N, C, H, W), got {shape}"
        )
    layers = _flatten_layers(model)
    spatial0 = shape[2:]
    rf = [Fraction(1)] * nd
    jump: list = [Fraction(1)] * nd
    start: list = [Fraction(0)] * nd
    support = [np.eye(n, dtype=bool) for n in spatial0]
    records = ReceptiveField()
    records.input_shape = shape
    global_ = False
    for i, (name, layer) in enumerate(layers):
        if global_:
            kind, out_shape, maps = "global", _run_shape(layer, shape), None
        else:
            kind, out_shape, maps = _describe(layer, shape, nd)
        if maps is None:
            global_ = True
            rf, jump, start = [Fraction(n) for n in spatial0], [None] * nd, [None] * nd
            support = [np.ones((1, n), dtype=bool) for n in spatial0]
        else:
            for ax, m in enumerate(maps):
                rf[ax] = rf[ax] + m.w * jump[ax]
                start[ax] = start[ax] + m.b * jump[ax]
                jump[ax] = jump[ax] * m.a
                support[ax] = (m.deps.astype(np.int64) @ support[ax].astype(np.int64)) > 0
        label = _label(layer)
        records.append(
            LayerRF(
                index=i,
                name=f"{name} {label}".strip() if name and not name.isdigit() else label,
                kind=kind,
                layer=layer,
                output_shape=out_shape,
                rf=_pack(rf, nd),
                jump=_pack(jump, nd),
                start=_pack(start, nd),
                _support=list(support),
                _nd=nd,
                _exact=tuple(zip(rf, jump, start)),
            )
        )
        shape = out_shape
    return records


def layers_of(model: Any) -> list:
    """The layers ``receptive_field`` and ``summary`` analyse, in order."""
    return [m for _, m in _flatten_layers(model)]


__all__ = ["LayerRF", "ReceptiveField", "receptive_field", "layers_of"]
