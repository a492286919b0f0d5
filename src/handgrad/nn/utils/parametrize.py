"""``torch.nn.utils.parametrize``: a tensor of a module computed on access from trained
"originals" by a chain of modules (a *parametrization*).

``register_parametrization(module, "weight", p)`` moves the parameter into
``module.parametrizations.weight`` (a ``ParametrizationList``) and gives the module a subclass,
``Parametrized<Class>``, whose ``weight`` is a property that runs the chain. The originals are
what ``p.right_inverse`` makes of the current value (the value itself where ``p`` has none): one
tensor is kept as ``original`` (the same Parameter object, so an optimizer built earlier still
holds it), several as ``original0``, ``original1``, ... These names, hence the state_dict keys,
are torch's. Inside ``with cached():`` each parametrized tensor is computed once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ... import autograd
from ..._tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Module, Parameter

_cache: dict[tuple[int, str], Tensor] = {}
_cache_enabled = 0


@contextmanager
def cached() -> Iterator[None]:
    """Compute each parametrized tensor once inside the block (e.g. a weight used at every
    step of a recurrent net) instead of on every access."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the originals they start
    from (``original``, or ``original0``, ``original1``, ...)."""

    def __init__(self, modules: Sequence[Module], original: Tensor) -> None:
        super().__init__(modules)
        new: Any = original
        with autograd.no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    new = m.right_inverse(new)
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(
                "register_parametrization: right_inverse must return a tensor or a sequence of "
                f"tensors, got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if isinstance(new, Tensor):
            if new is not original:
                with autograd.no_grad():
                    original.data = new.detach()
            _register(self, "original", original)
            return
        for i, t in enumerate(new):
            t = t.detach().clone()
            if isinstance(original, Parameter):
                t = Parameter(t, requires_grad=original.requires_grad)
            _register(self, f"original{i}", t)

    def right_inverse(self, value: Tensor) -> None:
        """Set the originals so that the chain computes ``value`` (the property's setter)."""
        with autograd.no_grad():
            new: Any = value
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(
                        f"parametrization {type(m).__name__} has no right_inverse: "
                        "the tensor cannot be assigned"
                    )
                new = m.right_inverse(new)
            if self.is_tensor:
                self.original.copy_(new)
            else:
                for i, t in enumerate(new):
                    getattr(self, f"original{i}").copy_(t)

    def forward(self) -> Tensor:
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in list(self)[1:]:
            x = m(x)
        return x


def _property(name: str) -> property:
    def get(self: Module) -> Tensor:
        plist = self.parametrizations[name]
        if not _cache_enabled:
            return plist()
        key = (id(self), name)
        if key not in _cache:
            _cache[key] = plist()
        return _cache[key]

    def set_(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    plists = module._modules.get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to originals
    initialised from the current value; a second call on the same name chains another."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name in module._parameters and module._parameters[tensor_name] is not None:
        original = module._parameters[tensor_name]
    elif tensor_name in module._buffers and module._buffers[tensor_name] is not None:
        original = module._buffers[tensor_name]
    else:
        raise ValueError(
            f"register_parametrization: module {type(module).__name__} has no parameter or "
            f"buffer named {tensor_name!r}"
        )
    plist = ParametrizationList([parametrization], original)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        module.parametrizations = ModuleDict()
        cls = type(module)
        # a class of its own per module: the property below must not reach other instances
        attrs = {"__module__": cls.__module__, "__doc__": cls.__doc__}
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), attrs)
    module.parametrizations[tensor_name] = plist
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def remove_parametrizations(
    module: Module, tensor_name: str, leave_parametrized: bool = True
) -> Module:
    """Undo ``register_parametrization``: ``module.<tensor_name>`` becomes a plain parameter
    again, holding the parametrized value (``leave_parametrized``) or the original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(
            f"remove_parametrizations: module {type(module).__name__} has no parametrization "
            f"on {tensor_name!r}"
        )
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with autograd.no_grad():
                value = getattr(module, tensor_name)
            original.data = value.detach().clone()
    elif leave_parametrized:
        value = getattr(module, tensor_name).detach().clone()
        requires_grad = plist.original0.requires_grad
        original = Parameter(value, requires_grad=requires_grad) if requires_grad else value
    else:
        raise ValueError(
            "remove_parametrizations: leave_parametrized=False needs a single original tensor, "
            f"{tensor_name!r} has {plist.ntensors}"
        )
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
]
