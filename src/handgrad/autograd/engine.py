"""The backward pass: grad mode, the ``Function`` base class of every primitive, and the engine.

A recorded operation is a ``Function`` instance (a *node*). It keeps the input tensors it was
applied to and whatever its backward needs. Every node has exactly one output, so a node also
names the gradient of that output: the engine keys gradients by node (or, for leaves, by the
leaf tensor itself).

The engine walks the graph iteratively (no recursion, so a chain of 100,000 operations is fine),
calls each node's ``backward`` once with the summed gradient of its output, reduces every returned
gradient to its input's shape (one shared *unbroadcast*), and accumulates into leaves at the end.
Backward formulas are written with handgrad's own operations; with ``create_graph=True`` grad mode
stays on while they run, so the gradient is itself a recorded graph and can be differentiated again.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor

# --------------------------------------------------------------------------------------------
# Grad mode

_grad_enabled = True
_anomaly = False
_anomaly_node = ""  # under detect_anomaly: the node whose backward is running


def is_grad_enabled() -> bool:
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off, as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        self.mode = bool(mode)
        # PyTorch's set_grad_enabled also takes effect when called as a plain function.
        _grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Disable graph recording inside a ``with`` block or a decorated function."""

    mode = False


class enable_grad(_GradModeContext):
    """Enable graph recording inside a ``with`` block or a decorated function."""

    mode = True


class detect_anomaly:
    """Raise as soon as a forward or backward step produces NaN or Inf, naming the operation.

    Slower (every result is scanned), so meant for debugging, as in PyTorch.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        global _anomaly
        self.prev = _anomaly
        _anomaly = self.check_nan

    def __exit__(self, *exc: object) -> None:
        global _anomaly
        _anomaly = self.prev


def _check_finite(array: np.ndarray, what: str) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = "nan" if np.isnan(array).any() else "inf"
        raise RuntimeError(f"detect_anomaly: {what} produced {bad} values (shape {array.shape})")


# --------------------------------------------------------------------------------------------
# Primitives

_NO_GRAD = [(), (False,), (False, False), (False, False, False)]
_new_tensor = object.__new__

PRIMITIVES: dict[str, type["Function"]] = {}
"""Every primitive by name. The parity tests are driven by this registry: a primitive without a
test case fails the suite."""


class Function:
    """A primitive operation: ``forward`` on NumPy arrays, ``backward`` on Tensors.

    Subclasses define

    - ``forward(self, *arrays, **params) -> np.ndarray``; it may keep on ``self`` what backward
      needs (``self.needs_input_grad`` is set before it runs, so it can skip work).
    - ``backward(self, g) -> Tensor | tuple``: one gradient per input (``None`` where the input is
      not differentiable or does not need it), written with differentiable Tensor operations.
      A gradient may have the broadcast shape; the engine sums it back to the input's shape.

    Class attributes: ``name`` (the registry key), ``differentiable``; ``uses_inputs`` /
    ``uses_output`` say whether backward reads the input / output values, so that modifying them in
    place after the forward is caught (a version counter) instead of giving a wrong gradient;
    ``is_view`` marks outputs that may share memory with the first input.
    """

    name = ""
    differentiable = True
    uses_inputs = True
    uses_output = False
    is_view = False

    # Set by ``apply`` on recorded nodes only.
    inputs: tuple
    needs_input_grad: tuple
    _versions: tuple
    out: np.ndarray
    _out_version: list
    _freed = False
    _hooks: list | None = None
    _retained: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in PRIMITIVES:
                raise RuntimeError(f"primitive {cls.name!r} is defined twice")
            PRIMITIVES[cls.name] = cls

    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(self, g: "Tensor") -> Any:  # pragma: no cover
        raise NotImplementedError(f"{self.name}: not differentiable")

    @classmethod
    def apply(cls, *inputs: "Tensor", **params: Any) -> "Tensor":
        fn = cls()
        record = False
        if _grad_enabled and cls.differentiable:
            for t in inputs:
                if t._requires_grad:
                    record = True
                    break
        n = len(inputs)
        if record:
            fn.needs_input_grad = tuple([t._requires_grad for t in inputs])
        else:
            fn.needs_input_grad = _NO_GRAD[n] if n < 4 else (False,) * n
        if n == 1:
            out_data = fn.forward(inputs[0]._data, **params)
        elif n == 2:
            out_data = fn.forward(inputs[0]._data, inputs[1]._data, **params)
        else:
            out_data = fn.forward(*[t._data for t in inputs], **params)
        if type(out_data) is not np.ndarray:
            out_data = np.asarray(out_data)
        if _anomaly:
            where = f"backward of '{_anomaly_node}'" if _anomaly_node else f"forward of '{cls.name}'"
            _check_finite(out_data, where)
        out = _new_tensor(Tensor)
        out._data = out_data
        out._requires_grad = record
        out.grad = None
        out._hooks = None
        if cls.is_view and np.may_share_memory(out_data, inputs[0]._data):
            out._version = inputs[0]._version  # views share a version counter, as in PyTorch
        else:
            out._version = [0]
        if record:
            fn.inputs = inputs
            fn.out_shape = out_data.shape
            if cls.uses_inputs:
                fn._versions = tuple([t._version[0] for t in inputs])
            if cls.uses_output:
                fn.out = out_data
                fn._out_version = out._version
                fn._out_v = out._version[0]
            out._ctx = fn
        else:
            out._ctx = None
        return out

    # Helpers for backward -------------------------------------------------------------------

    def output(self) -> "Tensor":
        """The forward result as a Tensor connected to this node, for backward formulas that
        use it (exp, tanh, sigmoid, softmax). A fresh tensor object with this node as creator is as
        good as the original for the graph, and holding the array rather than the original tensor
        avoids a reference cycle."""
        t = Tensor.__new__(Tensor)
        t._data = self.out
        t._requires_grad = True
        t.grad = None
        t._hooks = None
        t._ctx = self
        t._version = self._out_version
        return t

    def _check_versions(self) -> None:
        if self.uses_inputs and self._versions != tuple([t._version[0] for t in self.inputs]):
            for i, (t, v) in enumerate(zip(self.inputs, self._versions)):
                if t._version[0] != v:
                    raise RuntimeError(
                        f"{self.name}: input {i} (shape {t.shape}) needed for the gradient was "
                        f"modified by an in-place operation: it is at version {t._version[0]}, "
                        f"expected version {v}. Use an out-of-place operation or clone() it first."
                    )
        if self.uses_output and self._out_version[0] != self._out_v:
            raise RuntimeError(
                f"{self.name}: its output (shape {self.out.shape}), needed for the gradient, was "
                f"modified by an in-place operation (version {self._out_version[0]}, expected "
                f"{self._out_v})."
            )

    def _release(self) -> None:
        # Mark the node as consumed: a second backward through it is an error unless the first
        # passed retain_graph=True (PyTorch's rule). The saved arrays themselves go when the graph
        # is dropped; freeing them here would cost more time than the memory is worth.
        self._freed = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


# --------------------------------------------------------------------------------------------
# The engine


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


def _sum_to(g: "Tensor", t: "Tensor") -> "Tensor":
    """Reduce a gradient of broadcast shape back to the shape (and dtype) of input ``t``.

    If ``x`` of shape ``s`` was broadcast to ``S``, every element of ``x`` was copied to several
    outputs, so its gradient is the sum of theirs: sum over the leading dimensions that broadcasting
    added and, with ``keepdim``, over the dimensions where ``s`` has size 1.
    """
    shape = t._data.shape
    if g._data.shape != shape:
        lead = g.ndim - len(shape)
        if lead < 0:
            g = g.reshape(shape)
        else:
            dims = tuple(range(lead)) + tuple(
                lead + i for i, n in enumerate(shape) if n == 1 and g._data.shape[lead + i] != 1
            )
            if dims:
                g = g.sum(dim=dims, keepdim=True)
            if lead:
                g = g.reshape(shape)
    if g._data.dtype != t._data.dtype:
        g = g.to(t._data.dtype)
    return g


def run_backward(
    roots: Sequence["Tensor"],
    grad_roots: Sequence["Tensor"],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence["Tensor"] | None = None,
) -> list["Tensor | None"] | None:
    """Back-propagate ``grad_roots`` from ``roots``.

    With ``inputs=None`` gradients are accumulated into the ``.grad`` of every leaf that requires
    grad (``Tensor.backward``). Otherwise nothing is accumulated and the gradients with respect to
    ``inputs`` are returned (``handgrad.grad``).
    """
    grads: dict[Any, Tensor] = {}  # node (or leaf tensor) -> gradient of its output
    leaves: dict[Any, Tensor] = {}
    for r, g in zip(roots, grad_roots):
        key = r._ctx if r._ctx is not None else r
        target = grads if r._ctx is not None else leaves
        target[key] = target[key] + g if key in target else g

    wanted: dict[int, int] = {}
    captured: dict[int, Tensor] = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            wanted[id(t._ctx) if t._ctx is not None else id(t)] = i

    order = _sort_nodes(r._ctx for r in roots if r._ctx is not None)
    global _grad_enabled, _anomaly_node
    prev_mode = _grad_enabled
    _grad_enabled = create_graph
    try:
        for fn in reversed(order):
            g = grads.pop(fn, None)
            if g is None:
                continue
            if fn._freed:
                raise RuntimeError(
                    f"{fn.name}: trying to backward through the graph a second time, but its saved "
                    "values were freed by the first backward. Pass retain_graph=True to the first "
                    "backward() (or handgrad.grad) if you need to back-propagate twice."
                )
            if fn._hooks:
                for hook in fn._hooks:
                    new = hook(g)
                    g = new if new is not None else g
            if fn._retained is not None:
                rt = fn._retained()
                if rt is not None:
                    rt.grad = g if rt.grad is None else rt.grad + g
            if wanted and id(fn) in wanted:
                captured[id(fn)] = g
            if fn.uses_inputs or fn.uses_output:
                fn._check_versions()
            if _anomaly:
                _anomaly_node = fn.name
                try:
                    in_grads = fn.backward(g)
                finally:
                    _anomaly_node = ""
            else:
                in_grads = fn.backward(g)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            for t, need, gi in zip(fn.inputs, fn.needs_input_grad, in_grads):
                if not need or gi is None:
                    continue
                if _anomaly:
                    _check_finite(gi._data, f"backward of '{fn.name}'")
                if gi._data.shape != t._data.shape or gi._data.dtype != t._data.dtype:
                    gi = _sum_to(gi, t)
                ctx = t._ctx
                if ctx is None:
                    leaves[t] = leaves[t] + gi if t in leaves else gi
                else:
                    grads[ctx] = grads[ctx] + gi if ctx in grads else gi
            if not retain_graph:
                fn._release()

        if inputs is not None:
            for t, g in leaves.items():
                if id(t) in wanted:
                    captured[id(t)] = g
            result: list[Tensor | None] = [None] * len(inputs)
            for key, i in wanted.items():
                result[i] = captured.get(key)
            return result

        owned: set[int] = set()  # memory already handed to a .grad: never hand it out twice
        for t, g in leaves.items():
            if t._hooks:
                for hook in t._hooks:
                    new = hook(g)
                    g = new if new is not None else g
            if t.grad is not None:
                if create_graph:
                    t.grad = t.grad + g
                else:  # accumulate in place, as PyTorch does outside create_graph
                    t.grad._data += g._data
                    t.grad._version[0] += 1
                continue
            if create_graph:
                t.grad = g
                continue
            base = g._data.base if g._data.base is not None else g._data
            if id(base) in owned or any(g is r for r in grad_roots):
                g = Tensor._wrap(g._data.copy(), False)
                base = g._data
            elif not g._data.flags.writeable:
                g = Tensor._wrap(np.array(g._data), False)
                base = g._data
            owned.add(id(base))
            t.grad = g
    finally:
        _grad_enabled = prev_mode
    return None


def backward(
    tensor: "Tensor",
    gradient: "Tensor | None" = None,
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
        gradient = Tensor._wrap(np.ones(tensor._data.shape, tensor._data.dtype), False)
    else:
        gradient = _as_grad(gradient, tensor, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward([tensor], [gradient], retain_graph, create_graph)


def _as_grad(g: Any, like: "Tensor", op: str) -> "Tensor":
    if not isinstance(g, Tensor):
        g = Tensor._wrap(np.asarray(g, dtype=like._data.dtype), False)
    if g._data.shape != like._data.shape:
        raise RuntimeError(
            f"{op}: gradient has shape {g.shape} but the output has shape {like.shape}"
        )
    return g


def grad(
    outputs: "Tensor | Sequence[Tensor]",
    inputs: "Tensor | Sequence[Tensor]",
    grad_outputs: "Tensor | Sequence[Tensor | None] | None" = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple["Tensor | None", ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated
    (``torch.autograd.grad``). With ``create_graph=True`` the result can be differentiated again."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
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
            g = Tensor._wrap(np.ones(o._data.shape, o._data.dtype), False)
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


from .._tensor import Tensor  # noqa: E402  (Tensor needs this module first)
