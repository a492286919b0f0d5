"""torch's custom autograd functions: a subclass of ``handgrad.autograd.Function`` with static
``forward(ctx, *args)`` (or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``) and
``backward(ctx, *grad_outputs)``, used through ``apply``, as the "defining new autograd
functions" tutorial writes them.

``apply`` runs ``forward`` without recording (torch's rule), then records one node whose
backward calls the user's ``backward`` with one gradient per output, and hands the returned
gradients to the tensor arguments (those returned for other arguments must be None). The engine
keeps one output per node, so with several differentiable outputs the node's output is their
concatenation, flattened, and each output is a slice of it reshaped: the node then receives the
gradients of all outputs at once (zeros for an output the loss does not use, torch's
``materialize_grads``). ``backward`` runs under the engine's grad mode, so written with
differentiable operations it can be differentiated again (``create_graph``); decorated with
``once_differentiable`` it runs without recording.

``ctx`` (a ``FunctionCtx``) keeps ``save_for_backward`` tensors (checked against in-place
changes when read back as ``saved_tensors``), ``needs_input_grad``, ``mark_non_differentiable``
and ``set_materialize_grads``; any other attribute is the user's. ``mark_dirty`` (an input
modified in place and returned) is refused: handgrad cannot give the caller's tensor object a
new history, so its gradient would be silently wrong.

A subclass whose ``forward`` is an instance method is a primitive (``autograd.function``): its
``apply`` is the primitive's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from .function import Function as _Primitive
from .grad_mode import no_grad


class FunctionCtx:
    """The ``ctx`` of a custom function (see the module docstring)."""

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved: tuple = ()
        self._saved_versions: tuple = ()
        self._non_differentiable: set[int] = set()
        self._name = "Function"

    def save_for_backward(self, *tensors: Any) -> None:
        self._saved = tensors
        self._saved_versions = tuple(
            t._version[0] if isinstance(t, Tensor) else None for t in tensors
        )

    @property
    def saved_tensors(self) -> tuple:
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if isinstance(t, Tensor) and t._version[0] != v:
                raise RuntimeError(
                    f"{self._name}: saved tensor {i} (shape {tuple(t.shape)}) was modified by an "
                    f"in-place operation after save_for_backward: it is at version "
                    f"{t._version[0]}, expected version {v}"
                )
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        raise NotImplementedError(
            f"{self._name}: mark_dirty (an input modified in place and returned) is not "
            "supported: return a new tensor instead"
        )

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


def once_differentiable(backward: Callable) -> Callable:
    """Run a custom function's backward without recording: its result cannot be differentiated
    again (torch's decorator)."""

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with no_grad():
            return backward(ctx, *grads)

    return wrapper


class _CustomNode(_Primitive):
    """The recorded node of one ``apply``: its forward hands back the output computed by the
    user's forward; its backward calls the user's backward."""

    name = ""  # not a primitive: not registered, no parity case
    uses_inputs = False  # saved tensors are checked by ctx.saved_tensors

    def forward(self, *arrays: Any, state: dict) -> np.ndarray:
        self.state = state
        self.name = state["cls"].__name__ + "Backward"  # for the engine's messages
        return state["out"]

    def backward(self, g: Tensor) -> tuple:
        st = self.state
        ctx, outs, pieces = st["ctx"], st["outs"], st["pieces"]
        grads: list[Any] = []
        for i, o in enumerate(outs):
            if i in pieces:
                start, stop, shape = pieces[i]
                grads.append(g if len(pieces) == 1 else g[start:stop].reshape(shape))
            elif isinstance(o, Tensor) and ctx.materialize_grads:
                grads.append(Tensor._wrap(np.zeros(o.shape, o._data.dtype)))
            else:
                grads.append(None)
        result = st["cls"].backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n_args = len(st["positions_of_all"])
        # torch accepts trailing extra Nones, not fewer gradients than inputs
        if len(result) < n_args or any(r is not None for r in result[n_args:]):
            raise RuntimeError(
                f"{st['cls'].__name__}.backward returned {len(result)} gradients, expected "
                f"{n_args} (one per argument of forward, None for the non-tensors)"
            )
        out = []
        for pos in st["tensor_positions"]:
            gi = result[pos]
            out.append(None if gi is None else gi if isinstance(gi, Tensor) else Tensor._wrap(gi))
        return tuple(out)


def _is_custom(cls: type) -> bool:
    return isinstance(inspect.getattr_static(cls, "forward", None), staticmethod)


class Function(_Primitive):
    """torch's ``autograd.Function`` (see the module docstring)."""

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError  # overridden by a forward written without ctx

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if not _is_custom(cls):
            return _Primitive.apply.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        ctx._name = cls.__name__
        separate = inspect.getattr_static(cls, "setup_context") is not inspect.getattr_static(
            Function, "setup_context"
        )
        with no_grad():
            # the user's static forward, read off the class (a type checker sees the
            # primitive's instance method under the same name)
            forward: Any = cls.forward
            result = forward(*args, **kwargs) if separate else forward(ctx, *args, **kwargs)
            if separate:
                cls.setup_context(ctx, args, result)
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        diff = [
            i
            for i, o in enumerate(outs)
            if isinstance(o, Tensor)
            and id(o) not in ctx._non_differentiable
            and o._data.dtype.kind in "fc"
        ]
        tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not diff or not any(needs):
            return result
        pieces: dict[int, tuple] = {}
        if len(diff) == 1:
            packed = outs[diff[0]]._data
            pieces[diff[0]] = (0, packed.size, outs[diff[0]].shape)
        else:
            dtype = np.result_type(*[outs[i]._data.dtype for i in diff])
            start = 0
            for i in diff:
                size = outs[i]._data.size
                pieces[i] = (start, start + size, outs[i].shape)
                start += size
            packed = np.concatenate([outs[i]._data.ravel().astype(dtype) for i in diff])
        state = {
            "cls": cls,
            "ctx": ctx,
            "outs": outs,
            "pieces": pieces,
            "tensor_positions": tensor_positions,
            "positions_of_all": range(len(args)),
            "out": packed,
        }
        node_out = _CustomNode.apply(*[args[i] for i in tensor_positions], state=state)
        if not node_out.requires_grad:  # recording is off (no_grad around apply)
            return result
        new = list(outs)
        for i, (start, stop, shape) in pieces.items():
            if len(pieces) == 1:
                new[i] = node_out
            else:
                piece = node_out[start:stop].reshape(shape)
                new[i] = piece if piece.dtype == outs[i].dtype else piece.to(outs[i].dtype)
        return new[0] if single else tuple(new)


__all__ = ["Function", "FunctionCtx", "once_differentiable"]
