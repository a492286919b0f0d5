"""``hg.autograd.functional``: whole derivative objects of a function, as in
``torch.autograd.functional``, built from the engine's vector-Jacobian products.

    vjp(f, x, v)       = v^T J                  one backward pass
    jvp(f, x, u)       = J u                    by the double-vjp trick: u^T J^T is the gradient
                                                of w -> (w^T J) u, linear in w (two passes)
    jacobian(f, x)     = J, one row per output element: (out shape) + (in shape)
    hessian(f, x)      = the Jacobian of the gradient of a scalar f
    vhp(f, x, v)       = v^T H;  hvp(f, x, v) = H v (H is symmetric, so they agree)

The whole Jacobian is what a learner compares a hand-derived matrix with; for large inputs the
products (vjp, jvp, hvp) are the affordable ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor, lift
from ..ops import stack
from .engine import grad


def _inputs(inputs: Any, create_graph: bool = False) -> tuple[tuple[Tensor, ...], bool]:
    """Fresh graph roots; with create_graph an input that requires grad stays connected to its
    own graph (through a view), so the result can be differentiated back to it."""
    single = isinstance(inputs, Tensor) or not isinstance(inputs, (tuple, list))
    xs = tuple(lift(x) for x in ((inputs,) if single else inputs))
    return tuple(
        x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
        for x in xs
    ), single


def _outputs(out: Any) -> tuple[tuple[Tensor, ...], bool]:
    single = isinstance(out, Tensor)
    return ((out,) if single else tuple(out)), single


def _fill_none(gs: Sequence, xs: Sequence[Tensor], create_graph: bool) -> tuple:
    return tuple(
        Tensor._wrap(np.zeros(x.shape, x._data.dtype))
        if g is None
        else (g if create_graph else g.detach())
        for g, x in zip(gs, xs)
    )


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), v^T J): the vector-Jacobian product."""
    xs, single = _inputs(inputs, create_graph)
    out = func(*xs)
    outs, _ = _outputs(out)
    vs = (v,) if isinstance(v, Tensor) or v is None else tuple(v)
    vs = tuple(
        Tensor._wrap(np.ones(o.shape, o._data.dtype)) if w is None else lift(w, o)
        for w, o in zip(vs, outs)
    )
    gs = _fill_none(grad(outs, xs, vs, create_graph=True, allow_unused=True), xs, create_graph)
    val = (
        out
        if create_graph
        else (out.detach() if isinstance(out, Tensor) else tuple(o.detach() for o in outs))
    )
    return val, (gs[0] if single else gs)


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp (which is
    linear in its vector w) with respect to w."""
    xs, single = _inputs(inputs, create_graph)
    out = func(*xs)
    outs, out_single = _outputs(out)
    us = (v,) if isinstance(v, Tensor) or v is None else tuple(v)
    us = tuple(
        Tensor._wrap(np.ones(x.shape, x._data.dtype)) if u is None else lift(u, x)
        for u, x in zip(us, xs)
    )
    ws = tuple(Tensor._wrap(np.zeros(o.shape, o._data.dtype)).requires_grad_(True) for o in outs)
    gs = _fill_none(grad(outs, xs, ws, create_graph=True, allow_unused=True), xs, True)
    dot = sum((g * u).sum() for g, u in zip(gs, us))
    if not dot.requires_grad:  # func does not depend on its inputs
        jv = tuple(Tensor._wrap(np.zeros(o.shape, o._data.dtype)) for o in outs)
    else:
        jv = _fill_none(
            grad(dot, ws, create_graph=create_graph, allow_unused=True), ws, create_graph
        )
    val = out.detach() if out_single else tuple(o.detach() for o in outs)
    return val, (jv[0] if out_single else jv)


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """d func / d inputs, shaped (output shape) + (input shape); nested tuples for several
    outputs or inputs, as torch."""
    xs, single_in = _inputs(inputs, create_graph)
    out = func(*xs)
    outs, single_out = _outputs(out)
    rows = []
    for o in outs:
        flat = o.reshape(-1)
        per_input: list[list[Any]] = [[] for _ in xs]
        for i in range(flat.shape[0]):
            gs = _fill_none(
                grad(flat[i], xs, retain_graph=True, create_graph=create_graph, allow_unused=True),
                xs,
                create_graph,
            )
            for j, g in enumerate(gs):
                per_input[j].append(g)
        blocks = []
        for x, gl in zip(xs, per_input):
            block = stack(gl, 0) if gl else Tensor._wrap(np.zeros((0,) + x.shape, x._data.dtype))
            blocks.append(block.reshape(o.shape + x.shape))
        rows.append(blocks[0] if single_in else tuple(blocks))
    return rows[0] if single_out else tuple(rows)


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The matrix of second derivatives of a scalar func: (input shape) * 2."""
    xs, single = _inputs(inputs, create_graph)

    def gradient(*args: Tensor) -> Any:
        out = func(*args)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError(
                f"hessian: the function must return a single-element tensor, got "
                f"{getattr(out, 'shape', type(out).__name__)}"
            )
        gs = _fill_none(
            grad(out.reshape(()), args, create_graph=True, allow_unused=True), args, True
        )
        return gs[0] if single else gs

    return jacobian(gradient, xs[0] if single else xs, create_graph=create_graph)


def vhp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), v^T H) for a scalar func: a vjp of the gradient."""
    xs, single = _inputs(inputs, create_graph)
    out = func(*xs)
    if out.numel() != 1:
        raise RuntimeError(
            f"vhp: the function must return a single-element tensor, got {out.shape}"
        )
    gs = _fill_none(grad(out.reshape(()), xs, create_graph=True, allow_unused=True), xs, True)
    vs = (v,) if isinstance(v, Tensor) or v is None else tuple(v)
    vs = tuple(
        Tensor._wrap(np.ones(x.shape, x._data.dtype)) if w is None else lift(w, x)
        for w, x in zip(vs, xs)
    )
    dot = sum((g * w).sum() for g, w in zip(gs, vs))
    hv = (
        _fill_none(grad(dot, xs, create_graph=create_graph, allow_unused=True), xs, create_graph)
        if dot.requires_grad
        else tuple(Tensor._wrap(np.zeros(x.shape, x._data.dtype)) for x in xs)
    )
    return out.detach(), (hv[0] if single else hv)


def hvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), H v); the Hessian of a twice-differentiable scalar is symmetric, so this
    is ``vhp``."""
    return vhp(func, inputs, v, create_graph, strict)


__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]
