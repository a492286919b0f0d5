"""``Function``, the base class of every primitive, and ``PRIMITIVES``, the registry of them.

A recorded operation is a ``Function`` instance (a *node*). It keeps the input tensors it was
applied to and whatever its backward needs. Every node has exactly one output, so a node also
names the gradient of that output: the engine keys gradients by node (or, for leaves, by the
leaf tensor itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import TensorBase
from .grad_mode import (  # read on the hot path without a call; written only by grad_mode
    _anomaly_threads,
    _grad_off_threads,
    _state,
)

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor

_wrap = TensorBase._wrap
_new = object.__new__


def _check_finite(array: np.ndarray, what: str) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = "nan" if np.isnan(array).any() else "inf"
        raise RuntimeError(f"detect_anomaly: {what} produced {bad} values (shape {array.shape})")


_NO_GRAD = [(), (False,), (False, False), (False, False, False)]

PRIMITIVES: dict[str, type[Function]] = {}
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
    ``is_view`` marks outputs that may share memory with the first input; ``constant_gradient``
    marks a backward that returns constants (no graph back to g), which the engine keeps so also
    where it skips the backward of an empty output.
    """

    name = ""
    differentiable = True
    uses_inputs = True
    uses_output = False
    is_view = False
    constant_gradient = False

    # Set by ``apply`` on recorded nodes only.
    inputs: tuple
    needs_input_grad: tuple
    _versions: tuple
    out: np.ndarray
    out_shape: tuple
    _out_version: list
    _out_v: int
    _freed = False
    _hooks: list | None = None
    _retained: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in PRIMITIVES:
                raise RuntimeError(f"primitive {cls.name!r} is defined twice")
            PRIMITIVES[cls.name] = cls

    # `*args: Any, **kwargs: Any`: each primitive names its own arrays and parameters (a, b, dim,
    # ...), and a type checker accepts any such signature as an override of this one.
    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def backward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError(f"{self.name}: not differentiable")

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        fn = cls()
        record = False
        if cls.differentiable and (not _grad_off_threads or _state.grad_enabled):
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
        if _anomaly_threads and _state.anomaly:
            node = _state.anomaly_node
            _check_finite(out_data, f"backward of '{node}'" if node else f"forward of '{cls.name}'")
        # TensorBase._wrap's fields written inline: this is the hottest call of the library, and a
        # call to _wrap would cost as much as the assignments (test_engine_layout checks they agree)
        out: Any = _new(TensorBase._output_class)
        out._data = out_data
        out._requires_grad = record
        out.grad = None
        out._hooks = None
        if cls.is_view and np.may_share_memory(out_data, inputs[0]._data):
            out._version = inputs[0]._version  # views share a version counter, as in PyTorch
        else:
            out._version = [0]
        if record:
            out._ctx = fn
            fn.inputs = inputs
            fn.out_shape = out_data.shape
            if cls.uses_inputs:
                fn._versions = tuple([t._version[0] for t in inputs])
            if cls.uses_output:
                fn.out = out_data
                fn._out_version = out._version
                fn._out_v = out._version[0]
        else:
            out._ctx = None
        return out

    # Helpers for backward -------------------------------------------------------------------

    def output(self) -> Tensor:
        """The forward result as a Tensor connected to this node, for backward formulas that
        use it (exp, tanh, sigmoid, softmax). A fresh tensor object with this node as creator is as
        good as the original for the graph, and holding the array rather than the original tensor
        avoids a reference cycle."""
        return _wrap(self.out, True, self, self._out_version)

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


__all__ = ["PRIMITIVES", "Function"]
