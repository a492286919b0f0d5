"""The backward pass.

The engine walks the graph iteratively (no recursion, so a chain of 100,000 operations is fine),
calls each node's ``backward`` once with the summed gradient of its output, reduces every returned
gradient to its input's shape (``sum_to_size``, the one unbroadcast), and accumulates into leaves
at the end. Backward formulas are written with handgrad's own operations; with
``create_graph=True`` grad mode stays on while they run, so the gradient is itself a recorded graph
and can be differentiated again.

``run_backward`` is its steps in order: seed the roots' gradients (``_seed``), sort the nodes
(``_sort_nodes``), run each node and route its input gradients (``_propagate``: hooks, retained
gradients, version checks, its backward, unbroadcast), and finally either hand the gradients of
the requested inputs back (``grad``) or accumulate them into the leaves' ``.grad``
(``_accumulate_into_leaves``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import TensorBase
from .function import PRIMITIVES, Function, _check_finite
from .grad_mode import _swap_grad_enabled, is_anomaly_enabled, is_grad_enabled, running_backward_of

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor

_wrap = TensorBase._wrap


def _sort_nodes(roots: Iterable[Function]) -> list[Function]:
    """Every node reachable from ``roots``, each listed after all nodes it depends on: an
    iterative depth-first search (no recursion limit) that appends a node once all its inputs'
    nodes are listed. A ``True`` marker below a node's inputs on the stack says "inputs done"."""
    order: list[Function] = []
    seen: set[Function] = set()
    stack: list = []
    for root in roots:
        stack.append(root)
        while stack:
            fn = stack.pop()
            if fn is True:
                order.append(stack.pop())
                continue
            if fn in seen:
                continue
            seen.add(fn)
            stack.append(fn)
            stack.append(True)
            for t in fn.inputs:
                parent = t._ctx
                if parent is not None and parent not in seen:
                    stack.append(parent)
    return order


def _seed(roots: Sequence[Tensor], grad_roots: Sequence[Tensor]) -> tuple[dict, dict]:
    """The starting gradients: by node for computed roots, by tensor for roots that are leaves."""
    grads: dict[Any, Tensor] = {}  # node -> gradient of its output
    leaves: dict[Any, Tensor] = {}  # leaf tensor -> its gradient
    for r, g in zip(roots, grad_roots):
        key = r._ctx if r._ctx is not None else r
        target = grads if r._ctx is not None else leaves
        target[key] = target[key] + g if key in target else g
    return grads, leaves


def _run_hooks(hooks: list, g: Tensor) -> Tensor:
    """A hook may return a replacement gradient (or None to keep it)."""
    for hook in hooks:
        new = hook(g)
        g = new if new is not None else g
    return g


def _refuse_second_backward(fn: Function) -> None:
    raise RuntimeError(
        f"{fn.name}: trying to backward through the graph a second time, but its saved "
        "values were freed by the first backward. Pass retain_graph=True to the first "
        "backward() (or handgrad.grad) if you need to back-propagate twice."
    )


def _backward_under_anomaly(fn: Function, g: Tensor) -> Any:
    """``fn.backward(g)`` with the node named, so that a NaN or Inf produced inside names it."""
    with running_backward_of(fn.name):
        return fn.backward(g)


def _unbroadcast(gi: Tensor, t: Tensor) -> Tensor:
    """``gi`` reduced to the shape and dtype of the input ``t`` it is the gradient of."""
    shape = t._data.shape
    if gi._data.shape != shape:
        # a gradient with fewer dims than its input (a backward that dropped a size-1 dim) only
        # needs the dims back; otherwise it has the broadcast shape and is summed down
        gi = gi.reshape(shape) if gi._data.ndim < len(shape) else gi.sum_to_size(shape)
    if gi._data.dtype != t._data.dtype:
        gi = gi.to(t._data.dtype)
    return gi


def _propagate(
    order: list[Function],
    grads: dict,
    leaves: dict,
    retain_graph: bool,
    wanted: dict[int, list[int]],
    captured: dict[int, Tensor],
) -> None:
    """Run every node's backward, outputs before inputs, and route each input's gradient to
    the node that produced that input (or, for a leaf, to the leaf); capture the gradients of
    ``wanted`` nodes on the way. One loop, no call per node unless a hook, a retained gradient,
    anomaly mode or an unbroadcast asks for one: this loop is the fixed cost of every node."""
    anomaly = is_anomaly_enabled()
    for fn in reversed(order):
        g = grads.pop(fn, None)
        if g is None:
            continue
        if type(g) is list:
            g = _sum_apart(g)
        if fn._freed:
            _refuse_second_backward(fn)
        if fn._hooks:
            g = _run_hooks(fn._hooks, g)
        if fn._retained is not None:
            rt = fn._retained()
            if rt is not None:
                rt.grad = g if rt.grad is None else rt.grad + g
        if wanted and id(fn) in wanted:
            captured[id(fn)] = g
        if fn.uses_inputs or fn.uses_output:
            fn._check_versions()  # refuse saved values changed in place since the forward
        empty = g._data.size == 0
        if empty and (fn.constant_gradient or not is_grad_enabled()):
            # the gradient of a node with an empty output is a sum over nothing: zeros, with no
            # graph where none is recorded or where torch's gradient is a constant too (repeat by
            # 0, cummax of nothing, cat of 1-d empties: ``constant_gradient``); a graph there met
            # 0 * inf in a second derivative where torch has no path (fuzz seed 902683471).
            # Recorded otherwise, the backward runs, and its result is zeroed below
            in_grads = tuple(
                _wrap(np.zeros(t._data.shape, t._data.dtype)) if need else None
                for t, need in zip(fn.inputs, fn.needs_input_grad)
            )
        else:
            in_grads = _backward_under_anomaly(fn, g) if anomaly else fn.backward(g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for t, need, gi in zip(fn.inputs, fn.needs_input_grad, in_grads):
            if not need or gi is None:
                continue
            if empty:
                # recorded through an empty output, gi keeps the graph its formula built, which
                # is torch's (tied to g and to the saved values the formula reads: a Linear's
                # weight gradient g^T x to x), with the exact value of a sum over nothing, 0, not
                # the formula's (0 * an inf weight is NaN), and a selected 0 as its derivative
                # (ops.shape.EmptyConstantGradient, from the registry: ops sit above the engine)
                gi = PRIMITIVES["empty_constant_gradient"].apply(gi, shape=gi.shape)
            if anomaly:
                _check_finite(gi._data, f"backward of '{fn.name}'")
            if gi._data.shape != t._data.shape or gi._data.dtype != t._data.dtype:
                gi = _unbroadcast(gi, t)
            ctx = t._ctx
            if ctx is None:
                leaves[t] = _accumulate(leaves[t], gi) if t in leaves else gi
            else:
                grads[ctx] = _accumulate(grads[ctx], gi) if ctx in grads else gi
        if not retain_graph:
            fn._release()


def _accumulate(acc: Any, gi: Tensor) -> Any:
    """``acc + gi``, the running sum of a node's (or a leaf's) incoming gradients; where it
    overflows from finite terms, the terms are kept apart (a list) and summed by ``_sum_apart``
    once all have come: a later term may bring the sum back into range, which the inf of the
    running sum has lost (fuzz seed 907676047: prod's double backward sends a prod's output
    -1.61e308 and -3.84e307 before the previous prod's backward sends +1.61e308; the exact
    cotangent, torch's, is -3.84e307). Only an overflow costs more than the addition."""
    if type(acc) is list:
        return [*acc, gi]
    with np.errstate(over="raise"):  # the flag of an overflow from finite operands only
        try:
            return acc + gi
        except FloatingPointError:
            return [acc, gi]


def _sum_apart(terms: list) -> Tensor:
    """The running sum of ``terms``, and where it is infinite from finite terms, their sum scaled
    by a power of two at least their number and scaled back (exact scalings, in handgrad
    operations so that a recorded graph follows): finite wherever the exact sum is."""
    scale = float(2 ** len(terms).bit_length())
    with np.errstate(over="ignore", invalid="ignore"):
        total, redo = terms[0], terms[0] / scale
        for t in terms[1:]:
            total, redo = total + t, redo + t / scale
        over = np.isinf(total._data) & np.logical_and.reduce([np.isfinite(t._data) for t in terms])
        return (redo * scale).where(_wrap(over), total) if over.any() else total


def _accumulate_into_leaves(leaves: dict, grad_roots: Sequence[Tensor], create_graph: bool) -> None:
    """``.grad += gradient`` for every leaf, after its hooks. Outside create_graph the sum is done
    in place, as PyTorch does, and a gradient array is never handed to two leaves."""
    owned: set[int] = set()  # memory already handed to a .grad: never hand it out twice
    for t, g in leaves.items():
        if t._hooks:
            g = _run_hooks(t._hooks, g)
        if t.grad is not None:
            if create_graph:
                t.grad = t.grad + g
            else:
                t.grad._data += g._data
                t.grad._version[0] += 1
            continue
        if create_graph:
            t.grad = g
            continue
        base = g._data.base if g._data.base is not None else g._data
        if id(base) in owned or any(g is r for r in grad_roots):
            g = _wrap(g._data.copy())
            base = g._data
        elif not g._data.flags.writeable:
            g = _wrap(np.array(g._data))
            base = g._data
        owned.add(id(base))
        t.grad = g


def run_backward(
    roots: Sequence[Tensor],
    grad_roots: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Back-propagate ``grad_roots`` from ``roots``.

    With ``inputs=None`` gradients are accumulated into the ``.grad`` of every leaf that requires
    grad (``Tensor.backward``). Otherwise nothing is accumulated and the gradients with respect to
    ``inputs`` are returned (``handgrad.grad``).
    """
    grads, leaves = _seed(roots, grad_roots)
    # id of an input's node (or of the leaf) -> its positions (a tensor may be asked for twice)
    wanted: dict[int, list[int]] = {}
    captured: dict[int, Tensor] = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            wanted.setdefault(id(t._ctx) if t._ctx is not None else id(t), []).append(i)
    order = _sort_nodes(r._ctx for r in roots if r._ctx is not None)
    prev = _swap_grad_enabled(create_graph)  # record only a gradient that is to be differentiated
    try:
        _propagate(order, grads, leaves, retain_graph, wanted, captured)
        for t, g in leaves.items():
            if type(g) is list:
                leaves[t] = _sum_apart(g)
        if inputs is None:
            _accumulate_into_leaves(leaves, grad_roots, create_graph)
            return None
    finally:
        _swap_grad_enabled(prev)
    for t, g in leaves.items():
        if id(t) in wanted:
            captured[id(t)] = g
    result: list[Tensor | None] = [None] * len(inputs)
    for key, positions in wanted.items():
        for i in positions:
            result[i] = captured.get(key)
    return result


def backward(
    tensor: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """``tensor.backward()``: accumulate d tensor / d leaf into every leaf's ``.grad``."""
    if not tensor._requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no recorded graph "
            "(did you compute it under no_grad() or from tensors without requires_grad=True?)"
        )
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, but the tensor "
                f"has shape {tensor.shape}; pass gradient= a tensor of that shape"
            )
        gradient = _wrap(np.ones(tensor._data.shape, tensor._data.dtype))
    else:
        gradient = _as_grad(gradient, tensor, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward([tensor], [gradient], retain_graph, create_graph)


def _as_grad(g: Any, like: Tensor, op: str) -> Tensor:
    if not isinstance(g, TensorBase):
        g = _wrap(np.asarray(g, dtype=like._data.dtype))
    if g._data.shape != like._data.shape:
        raise RuntimeError(
            f"{op}: gradient has shape {g.shape} but the output has shape {like.shape}"
        )
    return g


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated
    (``torch.autograd.grad``). With ``create_graph=True`` the result can be differentiated again."""
    outputs = [outputs] if isinstance(outputs, TensorBase) else list(outputs)
    inputs = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, TensorBase):
        grad_outputs = [grad_outputs]
    gs = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if not o._requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad and has no graph")
        if g is None:
            if o._data.size != 1:
                raise RuntimeError(
                    f"grad: grad can be implicitly created only for scalar outputs, but output {i} "
                    f"has shape {o.shape}; pass grad_outputs"
                )
            g = _wrap(np.ones(o._data.shape, o._data.dtype))
        gs.append(_as_grad(g, o, "grad"))
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, gs, retain_graph, create_graph, inputs=inputs)
    assert result is not None
    for i, r in enumerate(result):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the outputs; "
                "pass allow_unused=True if this is expected"
            )
    return tuple(result)


__all__ = ["backward", "grad", "run_backward"]
