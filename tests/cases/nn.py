"""Parity cases for the primitives of ``handgrad.nn`` (the normalized linear layer, the binary
cross-entropy and its input gradient). For the normalized linear layer PyTorch has
no such layer, so its side is the composition F.linear(x, W, b) / ||W_rows||."""

from __future__ import annotations

from hypothesis import strategies as st

from .common import Case, rng, shape, values


def _normalized_linear(lib, x, w, b=None):
    if lib.__name__ == "torch":
        return lib.nn.functional.linear(x, w, b) / w.norm(dim=1)
    return lib.nn.linear.normalized_linear(x, w, b)


def _normalized_linear_draw(data):
    r = rng(data)
    n = data.draw(st.integers(1, 4), label="in")
    m = data.draw(st.integers(1, 4), label="out")
    lead = shape(data, min_dims=0, max_dims=2)
    arrays = [values(r, lead + (n,)), values(r, (m, n), "nonzero")]
    if data.draw(st.booleans(), label="bias"):
        arrays.append(values(r, (m,)))
    return arrays, {}


def _bce_draw(data):
    r = rng(data)
    s = shape(data, min_dims=0, max_dims=3)
    target = (
        values(r, s, "unit")
        if data.draw(st.booleans(), label="soft")
        else r.integers(0, 2, s).astype(float)
    )
    return [values(r, s, "unit"), target], {
        "reduction": data.draw(st.sampled_from(["none", "mean", "sum"]), label="reduction")
    }


def _bce(lib, p, y, reduction):
    return lib.nn.functional.binary_cross_entropy(p, y, reduction=reduction)


def _bce_backward_draw(data):
    (p, y), _ = _bce_draw(data)
    return [values(rng(data), p.shape), p, y], {}


def _bce_backward(lib, g, p, y):
    # the input gradient of the unreduced loss, kept in the graph: its derivatives are the
    # second (and, through them, third) derivatives of the binary cross-entropy
    # (grad enabled: the finite-difference check evaluates the function under no_grad)
    with lib.enable_grad():
        loss = lib.nn.functional.binary_cross_entropy(p, y, reduction="none")
        return lib.autograd.grad(loss, p, g, create_graph=True)[0]


def _bce_mean_backward_draw(data):
    (p, y), _ = _bce_draw(data)
    return [values(rng(data), ()), p, y], {}


def _bce_mean_backward(lib, g, p, y):
    # the input gradient of the mean loss (one primitive, divided by N last), kept in the graph
    with lib.enable_grad():
        loss = lib.nn.functional.binary_cross_entropy(p, y)
        return lib.autograd.grad(loss, p, g, create_graph=True)[0]


def _mse_draw(data):
    r = rng(data)
    s = shape(data, min_dims=0, max_dims=3)
    return [values(r, s), values(r, s)], {
        "reduction": data.draw(st.sampled_from(["none", "mean", "sum"]), label="reduction")
    }


def _mse(lib, x, y, reduction):
    return lib.nn.functional.mse_loss(x, y, reduction=reduction)


def _mse_backward_draw(data):
    (x, y), kw = _mse_draw(data)
    g = values(rng(data), x.shape if kw["reduction"] == "none" else ())
    return [g, x, y], kw


def _mse_backward(lib, g, x, y, reduction):
    # both gradients of the loss, kept in the graph: their derivatives (by g, x and y) are
    # torch's double backward of mse_loss_backward
    with lib.enable_grad():
        loss = lib.nn.functional.mse_loss(x, y, reduction=reduction)
        gx, gy = lib.autograd.grad(loss, (x, y), g, create_graph=True)
        return gx * 1.5 + gy * 0.25


CASES = {
    "mse_loss": [Case(_mse, _mse_draw)],
    "mse_loss_backward": [Case(_mse_backward, _mse_backward_draw)],
    "normalized_linear": [Case(_normalized_linear, _normalized_linear_draw)],
    # probabilities in (0.05, 0.95): away from the clamp; soft targets are differentiable too
    "binary_cross_entropy": [Case(_bce, _bce_draw)],
    "binary_cross_entropy_backward": [Case(_bce_backward, _bce_backward_draw)],
    "binary_cross_entropy_mean_backward": [Case(_bce_mean_backward, _bce_mean_backward_draw)],
}
