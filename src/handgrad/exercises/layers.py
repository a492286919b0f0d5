"""Layer lists for the receptive-field and shape exercises: a spec per layer, built into real
handgrad modules, analysed with ``hg.analysis`` and probed with the engine.

A spec is ``[kernel, stride, dilation]`` or ``[kernel, stride, dilation, padding]`` (a
convolution), or a dict ``{"kind": "conv" | "maxpool" | "avgpool", "kernel": k, "stride": s,
"dilation": d, "padding": p}`` (missing entries: stride 1 for a convolution and the kernel size
for pooling, dilation 1, padding 0). Square kernels; the receptive field is reported per axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def parse(spec: Any) -> dict:
    """One layer spec as a dict with kind, kernel, stride, dilation, padding."""
    if isinstance(spec, dict):
        kind = str(spec.get("kind", "conv")).lower()
        if kind not in ("conv", "maxpool", "avgpool"):
            raise ValueError(f"layer kind must be conv, maxpool or avgpool, got {kind!r}")
        k = int(spec["kernel"])
        s = int(spec.get("stride", 1 if kind == "conv" else k))
        d, p = int(spec.get("dilation", 1)), int(spec.get("padding", 0))
    else:
        vals = [int(v) for v in spec]
        if not 1 <= len(vals) <= 4:
            raise ValueError(f"a layer is [kernel, stride, dilation(, padding)], got {spec!r}")
        vals += [1, 1, 0][len(vals) - 1 :]
        kind, (k, s, d, p) = "conv", vals
    if k < 1 or s < 1 or d < 1 or p < 0:
        raise ValueError(f"layer {spec!r}: kernel, stride, dilation must be >= 1 and padding >= 0")
    return dict(kind=kind, kernel=k, stride=s, dilation=d, padding=p)


def parse_all(layers: Sequence[Any]) -> list[dict]:
    return [parse(s) for s in layers]


def build(layers: Sequence[Any], channels: int = 1, probe: bool = False) -> list:
    """handgrad modules for the specs: convolutions with all-ones float64 weights and no bias, so
    that an input gradient's support is exactly the set of pixels a unit depends on. With
    ``probe`` every pooling layer is replaced by such a convolution too: max pooling passes the
    gradient to the arg max only, so its gradient support would depend on the data, while the
    set of inputs a window reads is the same as the convolution's."""
    import handgrad as hg

    mods = []
    for spec in parse_all(layers):
        k, s, d, p = spec["kernel"], spec["stride"], spec["dilation"], spec["padding"]
        if spec["kind"] == "conv" or probe:
            m = hg.nn.Conv2d(channels, channels, k, stride=s, padding=p, dilation=d, bias=False)
            m.double()
            with hg.no_grad():
                m.weight.fill_(1.0)
        elif spec["kind"] == "maxpool":
            m = hg.nn.MaxPool2d(k, stride=s, padding=p, dilation=d)
        else:
            if d != 1:
                raise ValueError("avgpool has no dilation")
            m = hg.nn.AvgPool2d(k, stride=s, padding=p)
        mods.append(m)
    return mods


def receptive_field_fn():
    """``hg.analysis.receptive_field`` (from its module while ``hg.analysis`` has no
    ``__init__`` exporting it)."""
    try:
        from handgrad.analysis import receptive_field
    except ImportError:
        from handgrad.analysis.receptive import receptive_field
    return receptive_field


def library_rf(layers: Sequence[Any], size: int) -> list:
    """The library's receptive field after each layer, for an input of ``size`` x ``size``."""
    records = receptive_field_fn()(build(layers), (1, 1, size, size))
    return records


def gradient_support_width(layers: Sequence[Any], size: int) -> tuple[int, tuple]:
    """The width (first to last input column, inclusive) of the non-zero input gradient of the
    centre output unit: the receptive field measured with the engine. Returns (width, output
    spatial shape)."""
    import handgrad as hg

    x = hg.tensor(
        np.random.default_rng(0).random((1, 1, size, size)) + 0.5,
        dtype=hg.float64,
        requires_grad=True,
    )
    out = x
    for m in build(layers, probe=True):
        out = m(out)
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    cols = np.nonzero(np.abs(x.grad.numpy()[0, 0]).sum(0))[0]
    return int(cols[-1] - cols[0] + 1), (h, w)


def textbook_rf(layers: Sequence[Any]) -> list[int]:
    """r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, j_l = j_{l-1} s_l, r_0 = j_0 = 1: the receptive
    field after each layer, in input pixels (the forward recursion)."""
    r, j, out = 1, 1, []
    for spec in parse_all(layers):
        r += (spec["kernel"] - 1) * spec["dilation"] * j
        j *= spec["stride"]
        out.append(r)
    return out


def min_size(layers: Sequence[Any]) -> int:
    """A square input size large enough for every layer to have a few output units."""
    size = 1
    for spec in reversed(parse_all(layers)):
        extent = spec["dilation"] * (spec["kernel"] - 1) + 1
        size = (size + 2) * spec["stride"] + extent - 2 * spec["padding"]
    return max(size, 8)
