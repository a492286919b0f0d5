"""The autograd methods of a tensor: ``backward``, ``register_hook``, ``retain_grad``."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..autograd import engine

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


class AutogradMethods(_Base):
    __slots__ = ()

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        engine.backward(self, gradient, retain_graph, create_graph)

    def register_hook(self: Any, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces
        the gradient. Returns a handle whose ``remove()`` (or call) removes the hook."""
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        owner = self._ctx if self._ctx is not None else self
        owner._hooks = owner._hooks or []  # a new list only where there is no hook to keep
        owner._hooks.append(hook)

        def handle() -> None:  # removing twice is a no-op, as torch's handle
            owner._hooks.remove(hook) if hook in owner._hooks else None

        # torch returns a RemovableHandle: handle.remove(); calling it, as before, works too
        handle.remove = handle
        return handle

    def retain_grad(self: Any) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)
