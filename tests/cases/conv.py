"""Parity cases for the convolution primitives (conv2d, conv_transpose2d, conv2d_weight,
window_sum) and the functions composed from them (conv1d, conv_transpose1d, avg and lp pooling,
translate, unfold, fold). Geometry is drawn per axis (kernel, stride, dilation, padding, odd and
even sizes) so that every configuration yields an output."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import strategies as st

from .common import Case, rng, values


def F(lib):
    return lib.nn.functional


def _axis(data, pad_max=2, stride_max=2, dil_max=2, k_max=3):
    """(size, kernel, stride, dilation, padding) for one spatial axis, with an output."""
    k = data.draw(st.integers(1, k_max), label="k")
    s = data.draw(st.integers(1, stride_max), label="stride")
    d = data.draw(st.integers(1, dil_max), label="dilation")
    p = data.draw(st.integers(0, pad_max), label="padding")
    need = max(1, (k - 1) * d + 1 - 2 * p)
    n = need + data.draw(st.integers(0, 3), label="extra")
    return n, k, s, d, p


def _conv_draw(nd):
    def draw(data):
        r = rng(data)
        axes = [_axis(data) for _ in range(nd)]
        groups = data.draw(st.sampled_from([1, 1, 2]), label="groups")
        cg, og = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
        n = data.draw(st.integers(1, 2), label="batch")
        size, k, s, d, p = (tuple(a[i] for a in axes) for i in range(5))
        padding = data.draw(st.sampled_from(["int", "same", "valid"]), label="padding_kind")
        if padding == "same":
            s, padding = (1,) * nd, "same"
        elif padding == "valid":
            padding, size = (
                "valid",
                tuple(max(m, (ki - 1) * di + 1) for m, ki, di in zip(size, k, d)),
            )
        else:
            padding = p
        shape = (n, cg * groups) + size
        if nd == 1 and data.draw(st.booleans(), label="unbatched"):
            shape = shape[1:]
        arrays = [values(r, shape), values(r, (og * groups, cg) + k)]
        if data.draw(st.booleans(), label="bias"):
            arrays.append(values(r, (og * groups,)))
        return arrays, {"stride": s, "padding": padding, "dilation": d, "groups": groups}

    return draw


def _conv_fn(nd):
    def fn(lib, x, w, b=None, **kw):
        conv = F(lib).conv1d if nd == 1 else F(lib).conv2d
        with warnings.catch_warnings():
            # PyTorch warns that padding='same' with an even kernel copies the input.
            warnings.filterwarnings("ignore", message="Using padding='same'")
            return conv(x, w, b, **kw)

    return fn


def _transposed_draw(nd):
    def draw(data):
        r = rng(data)
        axes = []
        for _ in range(nd):
            k = data.draw(st.integers(1, 3))
            s = data.draw(st.integers(1, 3))
            d = data.draw(st.integers(1, 2))
            q = data.draw(st.integers(0, max(s, d) - 1))
            n = data.draw(st.integers(1, 4))
            full = (n - 1) * s + (k - 1) * d + 1 + q
            p = data.draw(st.integers(0, max(0, (full - 1) // 2)))
            axes.append((n, k, s, d, p, q))
        size, k, s, d, p, q = (tuple(a[i] for a in axes) for i in range(6))
        groups = data.draw(st.sampled_from([1, 1, 2]))
        ig, og = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
        n = data.draw(st.integers(1, 2))
        arrays = [values(r, (n, ig * groups) + size), values(r, (ig * groups, og) + k)]
        if data.draw(st.booleans(), label="bias"):
            arrays.append(values(r, (og * groups,)))
        return arrays, {
            "stride": s,
            "padding": p,
            "output_padding": q,
            "dilation": d,
            "groups": groups,
        }

    return draw


def _transposed_fn(nd):
    def fn(lib, x, w, b=None, **kw):
        conv = F(lib).conv_transpose1d if nd == 1 else F(lib).conv_transpose2d
        return conv(x, w, b, **kw)

    return fn


def _weight_draw(data):
    r = rng(data)
    axes = [_axis(data) for _ in range(2)]
    size, k, s, d, p = (tuple(a[i] for a in axes) for i in range(5))
    groups = data.draw(st.sampled_from([1, 1, 2]), label="groups")
    cg, og, n = (data.draw(st.integers(1, 2)) for _ in range(3))
    out = tuple(
        (m + 2 * pi - (ki - 1) * di - 1) // si + 1 for m, ki, si, di, pi in zip(size, k, s, d, p)
    )
    x, g = values(r, (n, cg * groups) + size), values(r, (n, og * groups) + out)
    return [x, g], {
        "weight_shape": (og * groups, cg) + k,
        "stride": s,
        "padding": p,
        "dilation": d,
        "groups": groups,
    }


def _weight_fn(lib, x, g, weight_shape, stride, padding, dilation, groups):
    if lib.__name__ == "torch":
        # torch's weight gradient of conv2d, kept differentiable in x and g.
        w = lib.zeros(weight_shape, dtype=x.dtype, requires_grad=True)
        out = F(lib).conv2d(x, w, None, stride, padding, dilation, groups)
        return lib.autograd.grad(out, w, g, create_graph=True)[0]
    from handgrad.ops.conv import Conv2dWeight

    return Conv2dWeight.apply(
        x,
        g,
        kernel_size=weight_shape[2:],
        stride=stride,
        padding=tuple((p, p) for p in padding),
        dilation=dilation,
        groups=groups,
    )


def _avg_draw(nd):
    def draw(data):
        r = rng(data)
        k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
        s = [data.draw(st.integers(1, 3)) for _ in range(nd)]
        p = [data.draw(st.integers(0, ki // 2)) for ki in k]
        size = [max(1, ki - 2 * pi) + data.draw(st.integers(0, 3)) for ki, pi in zip(k, p)]
        kw = {
            "kernel_size": tuple(k),
            "stride": tuple(s),
            "padding": tuple(p),
            "ceil_mode": data.draw(st.booleans()),
            "count_include_pad": data.draw(st.booleans()),
        }
        if nd == 2 and data.draw(st.booleans()):
            kw["divisor_override"] = data.draw(st.integers(1, 5))
        return [values(r, (2, 2) + tuple(size))], kw

    return draw


def _avg_fn(nd):
    return lambda lib, x, **kw: (F(lib).avg_pool1d if nd == 1 else F(lib).avg_pool2d)(x, **kw)


def _lp_draw(data):
    r = rng(data)
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    size = tuple(ki + data.draw(st.integers(0, 3)) for ki in k)
    stride = data.draw(st.sampled_from([None, 1, 2, (2, 1)]))
    return [values(r, (2, 2) + size, "pos")], {
        "norm_type": data.draw(st.sampled_from([1.0, 2.0, 3.0])),
        "kernel_size": k,
        "stride": stride,
        "ceil_mode": data.draw(st.booleans()),
    }


def _translate_draw(data):
    r = rng(data)
    h, w = data.draw(st.integers(2, 6)), data.draw(st.integers(2, 6))
    shifts = st.sampled_from([0.0, 0.25, -0.5, 1.0, -1.75, 2.5, 0.6, -3.3, 7.0])
    return [values(r, (2, 2, h, w))], {"dy": data.draw(shifts), "dx": data.draw(shifts)}


def _translate_fn(lib, x, dy, dx):
    if lib.__name__ != "torch":
        return F(lib).translate(x, dy, dx)
    # Independent oracle: grid_sample at (i - dy, j - dx) in pixel coordinates, zeros outside.
    import torch

    n, _, h, w = x.shape
    ys = (torch.arange(h, dtype=x.dtype) - dy) * 2 / (h - 1) - 1
    xs = (torch.arange(w, dtype=x.dtype) - dx) * 2 / (w - 1) - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack([gx, gy], -1)[None].expand(n, h, w, 2)
    return F(torch).grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _unfold_draw(data):
    axes = [_axis(data, pad_max=1, stride_max=2, dil_max=2, k_max=3) for _ in range(2)]
    size, k, s, d, p = (tuple(a[i] for a in axes) for i in range(5))
    return [values(rng(data), (2, 2) + size)], {
        "kernel_size": k,
        "stride": s,
        "dilation": d,
        "padding": p,
    }


def _fold_draw(data):
    arrays, kw = _unfold_draw(data)
    x = arrays[0]
    blocks = [
        (n + 2 * p - (k - 1) * d - 1) // s + 1
        for n, k, s, d, p in zip(
            x.shape[2:], kw["kernel_size"], kw["stride"], kw["dilation"], kw["padding"]
        )
    ]
    kk = kw["kernel_size"][0] * kw["kernel_size"][1]
    cols = values(rng(data), (2, 2 * kk, blocks[0] * blocks[1]))
    return [cols], dict(kw, output_size=x.shape[2:])


def _empty_batch_draw(data):
    """An empty batch x of (0, 2, 4, 4) and a weight w of (3, 2, 3, 3)."""
    return [np.zeros((0, 2, 4, 4)), values(rng(data), (3, 2, 3, 3))], {}


def _empty_batch_weight_gradient(lib, x, w):
    """The recorded gradient of the weight over an empty batch (zeros that require grad, with no
    derivative, as torch's convolution_backward there), plus w."""
    (gw,) = lib.autograd.grad(F(lib).conv2d(x, w, padding=1).sum(), [w], create_graph=True)
    return gw + w


CASES = {
    "conv2d": [
        Case(_conv_fn(2), _conv_draw(2)),
        Case(_conv_fn(1), _conv_draw(1), note="conv1d: a height-1 conv2d"),
        Case(
            _translate_fn,
            _translate_draw,
            second=False,
            note="translate against grid_sample (linear: no second derivative)",
        ),
        Case(lambda lib, x, **kw: F(lib).unfold(x, **kw), _unfold_draw, note="unfold"),
    ],
    "conv_transpose2d": [
        Case(_transposed_fn(2), _transposed_draw(2)),
        Case(_transposed_fn(1), _transposed_draw(1), note="conv_transpose1d"),
        Case(lambda lib, x, **kw: F(lib).fold(x, **kw), _fold_draw, note="fold"),
    ],
    "conv2d_weight": [Case(_weight_fn, _weight_draw)],
    "empty_batch_convolution": [
        Case(lambda lib, x, w: F(lib).conv2d(x, w, padding=1), _empty_batch_draw, fd=False)
    ],
    "empty_batch_convolution_backward": [
        Case(
            _empty_batch_weight_gradient,
            _empty_batch_draw,
            fd=False,
            note="the inner grad needs inputs that require grad, which the differences do not pass",
        )
    ],
    "window_sum": [  # conv2d with ones, summed tap by tap; its backward is conv2d's
        Case(_avg_fn(2), _avg_draw(2), note="avg_pool2d"),
        Case(_avg_fn(1), _avg_draw(1), note="avg_pool1d"),
        Case(lambda lib, x, **kw: F(lib).lp_pool2d(x, **kw), _lp_draw, note="lp_pool2d"),
    ],
}
