"""The wiring of ``Module.register_full_backward_hook`` and ``register_full_backward_pre_hook``.

torch runs a module's tensor inputs and outputs through identity nodes and calls the hooks from
their backward. Here each tensor input that requires grad and each tensor output is passed
through ``clone`` (an identity node of its own; an output through two, so that the caller's
hooks on the returned tensor run first, as torch's), and a tensor hook on that node receives exactly
the gradient with respect to that input or output of this call of the module:

- once every output that requires grad has its gradient, the pre-hooks run with ``grad_output``
  (a returned tuple replaces it);
- once every input that requires grad has its gradient, the full hooks run with
  ``(module, grad_input, grad_output)``; a returned tuple replaces ``grad_input``. Where no input
  requires grad they run with ``grad_input`` all ``None`` as soon as ``grad_output`` is known, as
  torch's.

The engine hands on an input's gradient as soon as it is complete, so a replacement can only
take effect for a module with one tensor input requiring grad; with several, returning a
replacement is an error rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import autograd
from .._tensor import Tensor


class BackwardHooks:
    """The hooks of one call of a module, and the gradients seen so far."""

    def __init__(self, module: Any, full: list[Callable], pre: list[Callable]) -> None:
        self.module, self.full, self.pre = module, full, pre
        self.grad_input: list[Tensor | None] = []
        self.grad_output: list[Tensor | None] = []
        # the inputs / outputs whose gradients a backward pass brings, and those seen so far in
        # the current pass (reset when the hooks have run, so a retained graph runs them again)
        self.inputs_expected: set[int] = set()
        self.outputs_expected: set[int] = set()
        self.inputs_seen: set[int] = set()
        self.outputs_seen: set[int] = set()

    @staticmethod
    def wanted(module: Any) -> BackwardHooks | None:
        full = list((module.__dict__.get("_backward_hooks") or {}).values())
        pre = list((module.__dict__.get("_backward_pre_hooks") or {}).values())
        if not (full or pre) or not autograd.is_grad_enabled():
            return None
        return BackwardHooks(module, full, pre)

    def setup_inputs(self, args: tuple) -> tuple:
        out = list(args)
        k = 0
        for i, a in enumerate(args):
            if not isinstance(a, Tensor):
                continue
            self.grad_input.append(None)
            if a.requires_grad:
                out[i] = a.clone()
                self.inputs_expected.add(k)
                out[i].register_hook(self._input_hook(k))
            k += 1
        return tuple(out)

    def setup_outputs(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        items = [result] if single else list(result) if isinstance(result, tuple) else None
        if items is None:
            return result
        k = 0
        for i, o in enumerate(items):
            if not isinstance(o, Tensor):
                continue
            self.grad_output.append(None)
            if o.requires_grad:
                # two identity nodes: hooks the caller registers on the returned tensor run
                # before grad_output is taken, as torch's tensor hooks run before its identity
                inner = o.clone()
                inner.register_hook(self._output_hook(k))
                items[i] = inner.clone()
                self.outputs_expected.add(k)
            k += 1
        return items[0] if single else type(result)(items)

    def _output_hook(self, k: int) -> Callable[[Tensor], Tensor | None]:
        def hook(grad: Tensor) -> Tensor | None:
            self.grad_output[k] = grad
            self.outputs_seen.add(k)
            if self.outputs_seen != self.outputs_expected:
                return None
            self.outputs_seen = set()
            for pre in self.pre:
                new = pre(self.module, tuple(self.grad_output))
                if new is not None:
                    self.grad_output = list(new if isinstance(new, tuple) else (new,))
            if not self.inputs_expected:
                self._call_full()
            return self.grad_output[k]

        return hook

    def _input_hook(self, k: int) -> Callable[[Tensor], Tensor | None]:
        def hook(grad: Tensor) -> Tensor | None:
            self.grad_input[k] = grad
            self.inputs_seen.add(k)
            if self.inputs_seen != self.inputs_expected:
                return None
            self.inputs_seen = set()
            self._call_full()
            return self.grad_input[k]

        return hook

    def _call_full(self) -> None:
        wanting = sum(g is not None for g in self.grad_input)
        for hook in self.full:
            new = hook(self.module, tuple(self.grad_input), tuple(self.grad_output))
            if new is None:
                continue
            if wanting > 1:
                raise RuntimeError(
                    f"register_full_backward_hook: the hook of {type(self.module).__name__} "
                    f"returned a replacement grad_input for {wanting} inputs; handgrad can "
                    "replace the gradient of a module with one tensor input requiring grad only"
                )
            self.grad_input = list(new if isinstance(new, tuple) else (new,))
