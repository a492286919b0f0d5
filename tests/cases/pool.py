"""Parity cases for max pooling (``max_pool2d`` and its backward ``max_pool2d_backward``) and the
pooling and resampling functions composed from other primitives (adaptive max pooling from
gather, adaptive average pooling and interpolate from matmul)."""

from __future__ import annotations

from hypothesis import strategies as st

from .common import Case, rng, values


def F(lib):
    return lib.nn.functional


def _pool_geometry(data, nd):
    k = [data.draw(st.integers(1, 3), label="k") for _ in range(nd)]
    s = [data.draw(st.integers(1, 3), label="stride") for _ in range(nd)]
    d = [data.draw(st.integers(1, 2), label="dilation") for _ in range(nd)]
    p = [data.draw(st.integers(0, ki // 2), label="padding") for ki in k]
    size = [
        max(1, (ki - 1) * di + 1 - 2 * pi) + data.draw(st.integers(0, 3))
        for ki, di, pi in zip(k, d, p)
    ]
    kw = {
        "kernel_size": tuple(k),
        "stride": tuple(s),
        "padding": tuple(p),
        "dilation": tuple(d),
        "ceil_mode": data.draw(st.booleans(), label="ceil_mode"),
    }
    for axis in range(nd):
        if _has_empty_window(size[axis], k[axis], s[axis], p[axis], d[axis], kw["ceil_mode"]):
            d[axis] = 1  # a dilated window of padding only: PyTorch indexes out of its plane
    kw["dilation"] = tuple(d)
    return tuple(size), kw


def _has_empty_window(n, k, s, p, d, ceil_mode):
    from handgrad.ops.pool import _pool_out_len

    return any(
        all(not 0 <= o * s + t * d - p < n for t in range(k))
        for o in range(_pool_out_len(n, k, s, p, d, ceil_mode))
    )


def _max_draw(nd, kind):
    def draw(data):
        size, kw = _pool_geometry(data, nd)
        lead = (2, 2) if data.draw(st.booleans(), label="batched") else (2,)
        return [values(rng(data), lead + size, kind)], kw

    return draw


def _max_fn(nd):
    return lambda lib, x, **kw: (F(lib).max_pool1d if nd == 1 else F(lib).max_pool2d)(x, **kw)


def _max_backward_draw(data):
    size, kw = _pool_geometry(data, 2)
    r = rng(data)
    x = values(r, (2, 2) + size, data.draw(st.sampled_from(["distinct", "ints"])))
    from handgrad.ops.pool import _pool_out_len

    out = [
        _pool_out_len(n, k, s, p, d, kw["ceil_mode"])
        for n, k, s, p, d in zip(
            size, kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"]
        )
    ]
    return [values(r, (2, 2) + tuple(out))], dict(kw, x=x)


def _max_backward_fn(lib, g, x, **kw):
    """The gradient of max_pool2d at a fixed x, as a function of the upstream gradient g (its
    own derivative is the gather at the argmax positions)."""
    if lib.__name__ == "torch":
        xt = lib.tensor(x, dtype=g.dtype, requires_grad=True)
        with lib.enable_grad():
            return lib.autograd.grad(F(lib).max_pool2d(xt, **kw), xt, g, create_graph=True)[0]
    from handgrad.ops.pool import MaxPool2d, MaxPool2dBackward

    xh = lib.tensor(x, dtype=g.dtype, requires_grad=True)
    with lib.enable_grad():
        out = MaxPool2d.apply(xh, **kw)
    node = out._ctx
    return MaxPool2dBackward.apply(g, windows=node.windows, xp=node.xp, out=node.out)


def _adaptive_draw(nd, kind):
    def draw(data):
        size = tuple(data.draw(st.integers(1, 7)) for _ in range(nd))
        out = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
        return [values(rng(data), (2, 2) + size, kind)], {"output_size": out}

    return draw


def _interp_draw(data):
    r = rng(data)
    nd = data.draw(st.sampled_from([1, 2]), label="nd")
    size = tuple(data.draw(st.integers(1, 6)) for _ in range(nd))
    modes = ["nearest", "nearest-exact", "area"] + (
        ["linear"] if nd == 1 else ["bilinear", "bicubic"]
    )
    mode = data.draw(st.sampled_from(modes), label="mode")
    kw = {"mode": mode}
    if data.draw(st.booleans(), label="by_size"):
        kw["size"] = tuple(data.draw(st.integers(1, 9)) for _ in range(nd))
    else:
        sf = tuple(data.draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 0.75])) for _ in range(nd))
        size = tuple(max(n, 2) for n in size)  # floor(n * 0.5) >= 1
        kw["scale_factor"] = sf
        if mode != "area":
            kw["recompute_scale_factor"] = data.draw(st.booleans())
    if mode in ("linear", "bilinear", "bicubic"):
        kw["align_corners"] = data.draw(st.booleans())
    return [values(r, (2, 2) + size)], kw


CASES = {
    "max_pool2d": [
        Case(_max_fn(2), _max_draw(2, "distinct")),
        Case(_max_fn(2), _max_draw(2, "ints"), fd=False, note="ties: the first maximum wins"),
        Case(_max_fn(1), _max_draw(1, "distinct"), note="max_pool1d"),
    ],
    "max_pool2d_backward": [Case(_max_backward_fn, _max_backward_draw)],
    "gather": [
        Case(
            lambda lib, x, **kw: F(lib).adaptive_max_pool2d(x, **kw),
            _adaptive_draw(2, "distinct"),
            note="adaptive_max_pool2d",
        ),
        Case(
            lambda lib, x, **kw: F(lib).adaptive_max_pool1d(x, **kw),
            _adaptive_draw(1, "ints"),
            fd=False,
            note="adaptive_max_pool1d with ties",
        ),
    ],
    "getitem": [  # both read their source pixels with index_select (sparse taps)
        Case(
            lambda lib, x, **kw: F(lib).adaptive_avg_pool2d(x, **kw),
            _adaptive_draw(2, "any"),
            note="adaptive_avg_pool2d",
        ),
        Case(lambda lib, x, **kw: F(lib).interpolate(x, **kw), _interp_draw, note="interpolate"),
    ],
}
