"""``torch.func``'s function transforms, on the engine's reverse mode:

- ``functional_call(module, params, args)``: the module run with some of its parameters and
  buffers replaced by the given tensors (``nn.utils.stateless.functional_call``, torch's older
  home of it).
- ``grad(f, argnums)`` / ``grad_and_value``: a function returning d f / d args[argnums] of a
  scalar ``f``, for a tensor or a dict / tuple / list of tensors (the gradient has the same
  structure; zeros where f does not depend on an input). The arguments are made graph roots;
  where they already require grad (``grad`` inside ``grad``, or a tensor of an outer graph),
  the gradient is computed with ``create_graph`` and stays differentiable, so transforms nest.
- ``vmap(f, in_dims, out_dims)``: ``f`` applied to each slice along the batch dims and the
  results stacked along ``out_dims``. torch batches the operations instead of looping; the
  results are the same for any ``f`` that treats its slice on its own, which is what vmap
  requires of ``f``. Random operations inside draw per slice (torch's
  ``randomness="different"``).

The per-example gradients of a model, as the torch.func tutorial computes them, are
``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` with ``loss`` calling
``functional_call``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import autograd
from .._tensor import Tensor, lift
from ..nn.utils.stateless import functional_call
from ..ops import stack

# ---- pytrees: a tensor, or dicts / tuples / lists of them -------------------------------------


def _flatten(tree: Any) -> tuple[list[Any], Callable[[list[Any]], Any]]:
    """The leaves of ``tree`` in order, and a function building the same structure from new
    leaves."""
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
    elif isinstance(tree, (tuple, list)):
        keys = None
        parts = [_flatten(t) for t in tree]
    else:
        return [tree], lambda leaves: leaves[0]
    sizes = [len(p[0]) for p in parts]
    leaves = [leaf for p in parts for leaf in p[0]]

    def rebuild(new: list[Any]) -> Any:
        out, i = [], 0
        for (_, build), n in zip(parts, sizes):
            out.append(build(new[i : i + n]))
            i += n
        if keys is not None:
            return dict(zip(keys, out))
        if hasattr(tree, "_fields"):  # a namedtuple
            return type(tree)(*out)
        return type(tree)(out)

    return leaves, rebuild


# ---- grad -------------------------------------------------------------------------------------


def grad_and_value(func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """A function returning (gradient, value) of ``func`` (see the module docstring); with
    ``has_aux`` func returns (scalar, aux) and the value is that pair."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        args = list(args)
        roots, builds = [], []
        nested = False
        for i in nums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"grad: argnums {i} is out of range for {len(args)} arguments")
            leaves, build = _flatten(args[i])
            fresh = []
            for leaf in leaves:
                if not isinstance(leaf, Tensor):
                    raise TypeError(
                        f"grad: argument {i} must be a tensor or a dict / tuple / list of "
                        f"tensors, found a {type(leaf).__name__}"
                    )
                # a tensor of an outer graph stays in it, so an outer grad sees through this one
                nested |= leaf.requires_grad
                fresh.append(
                    leaf.view_as(leaf) if leaf.requires_grad else leaf.detach().requires_grad_(True)
                )
            args[i] = build(fresh)
            roots.append(fresh)
            builds.append(build)
        with autograd.enable_grad():
            result = func(*args, **kwargs)
            out, aux = result if has_aux else (result, None)
            if not isinstance(out, Tensor) or out.numel() != 1:
                shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise RuntimeError(
                    f"grad: the function must return a tensor with one element, got {shape}"
                )
            flat = [r for rs in roots for r in rs]
            # an output that does not depend on the inputs has zero gradients, as torch.func's
            grads = (
                autograd.grad(out, flat, create_graph=nested, allow_unused=True)
                if out.requires_grad
                else (None,) * len(flat)
            )
        grads = [g if g is not None else r.detach() * 0 for g, r in zip(grads, flat)]
        packed, k = [], 0
        for rs, build in zip(roots, builds):
            packed.append(build(list(grads[k : k + len(rs)])))
            k += len(rs)
        g = packed[0] if isinstance(argnums, int) else tuple(packed)
        value = out if nested else out.detach()
        return g, ((value, aux) if has_aux else value)

    return wrapper


def grad(func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """A function returning the gradient of the scalar ``func`` with respect to its arguments
    ``argnums`` (with ``has_aux``, the pair (gradient, aux))."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# ---- vmap -------------------------------------------------------------------------------------


def _dims_for(tree: Any, dims: Any, what: str) -> list[Any]:
    leaves, _ = _flatten(tree)
    if dims is None or isinstance(dims, int):
        return [dims] * len(leaves)
    dim_leaves, _ = _flatten(dims)
    if len(dim_leaves) != len(leaves):
        raise ValueError(
            f"vmap: {what} has {len(dim_leaves)} dims for an argument of {len(leaves)} tensors"
        )
    return dim_leaves


def vmap(
    func: Callable,
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """``func`` mapped over the batch dims ``in_dims`` of its arguments (None: not mapped), its
    outputs stacked along ``out_dims`` (see the module docstring)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(
                f"vmap: in_dims has {len(dims)} entries for {len(args)} positional arguments"
            )
        flat_args = [_flatten(a) for a in args]
        flat_dims = [_dims_for(a, d, f"in_dims[{i}]") for i, (a, d) in enumerate(zip(args, dims))]
        sizes = {
            leaf.shape[d]
            for (leaves, _), ds in zip(flat_args, flat_dims)
            for leaf, d in zip(leaves, ds)
            if d is not None
        }
        if len(sizes) != 1:
            raise ValueError(
                "vmap: the mapped dims must have one size, got "
                + (f"sizes {sorted(sizes)}" if sizes else "no mapped tensor")
            )
        (batch,) = sizes
        outs = []
        for b in range(batch):
            call = [
                build([leaf if d is None else leaf.select(d, b) for leaf, d in zip(leaves, ds)])
                for (leaves, build), ds in zip(flat_args, flat_dims)
            ]
            outs.append(func(*call, **kwargs))
        leaves0, build = _flatten(outs[0])
        per_leaf = list(zip(*[_flatten(o)[0] for o in outs]))
        o_dims = _dims_for(outs[0], out_dims, "out_dims")
        stacked = []
        for items, d in zip(per_leaf, o_dims):
            ts = [lift(t) for t in items]
            stacked.append(stack(ts, 0 if d is None else d))
        return build(stacked)

    return wrapper


__all__ = ["functional_call", "grad", "grad_and_value", "vmap"]
