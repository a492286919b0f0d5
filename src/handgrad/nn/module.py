"""``Module`` and ``Parameter``: the containers of torch.nn, with the same bookkeeping (parameters,
buffers and children registered on assignment, in order, so ``state_dict`` keys match PyTorch's)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import autograd
from .._tensor import Tensor
from ..utils.hooks import RemovableHandle
from ._backward_hooks import BackwardHooks


class Parameter(Tensor):
    """A tensor that is a module's learnable parameter: a leaf that requires grad by default and
    that ``Module`` registers when assigned as an attribute."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        self._setup(data._data if isinstance(data, Tensor) else np.asarray(data))
        if requires_grad:
            self.requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as torch's: a pair that unpacks as ``missing,
    unexpected`` and names its fields, since programs read ``result.missing_keys``."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )

    def __str__(self) -> str:
        return repr(self)


class Module:
    """Base class of every layer and model. Subclasses assign parameters, buffers and sub-modules
    in ``__init__`` and define ``forward``; calling the module calls ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        # Re-assigning a registered name keeps its position (dict assignment to an existing key),
        # as torch does, so children(), parameters() and state_dict() keep their order.
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(a Parameter or None is expected)"
                )
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r}")
            buffers[name] = value
        elif name in modules:
            # torch: a registered child is replaced by a module or None (which keeps its slot),
            # never silently shadowed by another kind of value
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    "(an nn.Module or None is expected)"
                )
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: Any = None) -> None:
        for d in (self._parameters, self._buffers, self._modules):
            if d is not keep:
                d.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is part of the module's state but not a parameter (e.g. running mean)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    # ---- traversal ---------------------------------------------------------------------------

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Every module of the tree with its dotted name, this one first (depth first, in
        registration order); a module reached twice is named once unless not
        ``remove_duplicate``."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                child = f"{prefix}.{name}" if prefix else name
                yield from m.named_modules(memo, child, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named(
        self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mprefix, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mprefix}.{name}" if mprefix else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        return self._named("_parameters", prefix, recurse, remove_duplicate)  # type: ignore[return-value]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients -----------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    # ---- state -------------------------------------------------------------------------------

    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (PyTorch's keys), sharing memory."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mprefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            for name, p in m._parameters.items():
                if p is not None:
                    out[f"{mprefix}.{name}" if mprefix else name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[f"{mprefix}.{name}" if mprefix else name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(
        self, state_dict: dict, strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy values into the module's parameters and buffers (with ``assign``, hold the given
        arrays themselves). With ``strict``, missing or unexpected keys are an error that lists
        them; a shape mismatch is always an error."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, t in own.items():
            if k in state_dict:
                v = state_dict[k]
                shape = tuple(v.shape) if hasattr(v, "shape") else np.shape(v)
                if shape != t.shape:
                    mismatched.append(f"{k}: checkpoint {shape} vs model {t.shape}")
        errors = []
        if strict and missing:
            errors.append(f"missing keys: {missing}")
        if strict and unexpected:
            errors.append(f"unexpected keys: {unexpected}")
        if mismatched:
            errors.append("shape mismatch: " + "; ".join(mismatched))
        if errors:
            raise RuntimeError(
                f"load_state_dict: error(s) loading state dict for {type(self).__name__}: "
                + ". ".join(errors)
            )
        with autograd.no_grad():
            for k, t in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    array = v._data if isinstance(v, Tensor) else np.asarray(v)
                    if assign:
                        # torch's assign=True: the module holds the checkpoint's tensor (its
                        # memory and dtype), not a copy in its own
                        t._data = array
                    else:
                        t._data[...] = array.astype(t.dtype, copy=False)
                    t._version[0] += 1
        return _IncompatibleKeys(missing, unexpected)

    def type(self, dst_type: Any) -> Module:
        """Every parameter and buffer cast to ``dst_type`` (torch's ``Module.type``)."""
        return self.to(dst_type)

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """torch's overloads: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(tensor)``, with ``non_blocking``/``memory_format`` keywords. Floating parameters
        and buffers are cast to ``dtype`` (which must be floating, as torch requires); the
        device must be the CPU (an accelerator raises, naming it), so moving is a no-op."""
        from ..device import as_device

        dtype = kwargs.pop("dtype", None)
        where = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or type(a).__name__ == "device":
                where = a
            elif isinstance(a, bool):  # to(dtype, non_blocking) positional flag
                continue
            elif a is not None:
                dtype = a
        as_device(where, "Module.to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(
                "Module.to: nn.Module.to only accepts floating point or complex "
                f"dtypes, but got desired dtype={dtype}"
            )
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    # a tensor already of the dtype keeps its memory (shared after share_memory)
                    if t is not None and t.dtype.kind == "f" and t.dtype != dtype:
                        t._data = t._data.astype(dtype)
                        if t.grad is not None:
                            t.grad = t.grad.to(dtype)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def half(self) -> Module:
        return self.to(np.float16)

    def cpu(self) -> Module:
        return self

    def share_memory(self) -> Module:
        """Move every parameter and buffer (and any gradient already there) to shared memory,
        so that processes started afterwards, forked or spawned, update the same weights
        (``Tensor.share_memory_``; Hogwild training)."""
        for t in list(self.parameters()) + list(self.buffers()):
            t.share_memory_()
            if t.grad is not None:
                t.grad.share_memory_()
        return self

    def get_submodule(self, target: str) -> Module:
        """The sub-module at the dotted path ``target`` ('' is the module itself)."""
        m = self
        for part in target.split(".") if target else ():
            if part not in m._modules:
                raise AttributeError(
                    f"get_submodule: {type(m).__name__} has no submodule {part!r} (path {target!r})"
                )
            m = m._modules[part]
        return m

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if name not in m._parameters:
            raise AttributeError(f"get_parameter: {type(m).__name__} has no parameter {name!r}")
        return m._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if name not in m._buffers:
            raise AttributeError(f"get_buffer: {type(m).__name__} has no buffer {name!r}")
        return m._buffers[name]

    def double(self) -> Module:
        return self.to(np.float64)

    # ---- calling and printing ----------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # .get: a subclass may be called before Module.__init__ has made the hook dicts
        d = self.__dict__
        pre = d.get("_forward_pre_hooks") or {}
        post = d.get("_forward_hooks") or {}
        if (
            not pre
            and not post
            and not d.get("_backward_hooks")
            and not d.get("_backward_pre_hooks")
        ):
            return self.forward(*args, **kwargs)
        pre_kw = d.get("_forward_pre_hooks_with_kwargs", ())
        for hid, hook in list(pre.items()):
            if hid in pre_kw:
                new = hook(self, args, kwargs)
                if new is not None:
                    if not (isinstance(new, tuple) and len(new) == 2):
                        raise RuntimeError(
                            f"forward pre-hook of {type(self).__name__} registered with "
                            "with_kwargs=True must return None or a tuple (args, kwargs), got "
                            f"{type(new).__name__}"
                        )
                    args, kwargs = new
                continue
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        # torch's order: backward hooks wrap the inputs after the pre-hooks, the outputs after
        # the forward hooks
        backward = BackwardHooks.wanted(self)
        if backward is not None:
            args = backward.setup_inputs(args)
        post_kw = d.get("_forward_hooks_with_kwargs", ())
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            # hooks registered with always_call=True run even when forward fails, as torch's
            for hid in d.get("_forward_hooks_always_called", ()):
                if hid in post:
                    hook = post[hid]
                    hook(self, args, kwargs, None) if hid in post_kw else hook(self, args, None)
            raise
        for hid, hook in list(post.items()):
            new = hook(self, args, kwargs, out) if hid in post_kw else hook(self, args, out)
            if new is not None:
                out = new
        return out if backward is None else backward.setup_outputs(out)

    def _add_hook(self, store: str, hook: Callable, prepend: bool, flags: dict) -> RemovableHandle:
        hooks = self.__dict__[store]
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        for flag_store, on in flags.items():
            if on:
                self.__dict__.setdefault(flag_store, set()).add(handle.id)
        return handle

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; a returned value replaces the
        positional arguments (PyTorch's rule). With ``with_kwargs``, ``hook(module, args,
        kwargs)`` returns None or a pair (args, kwargs); ``prepend`` runs it before the others."""
        flags = {"_forward_pre_hooks_with_kwargs": with_kwargs}
        return self._add_hook("_forward_pre_hooks", hook, prepend, flags)

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; a returned value replaces the
        output. Activation statistics and per-example gradients are built on these hooks. With
        ``with_kwargs`` it is ``hook(module, args, kwargs, output)``; ``always_call`` also runs
        it (with output None) when forward raises; ``prepend`` runs it before the others."""
        flags = {
            "_forward_hooks_with_kwargs": with_kwargs,
            "_forward_hooks_always_called": always_call,
        }
        return self._add_hook("_forward_hooks", hook, prepend, flags)

    def register_full_backward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradients of the module's outputs are
        known; a returned tuple replaces them (see ``nn/_backward_hooks.py``)."""
        store = self.__dict__.setdefault("_backward_pre_hooks", OrderedDict())
        handle = RemovableHandle(store)
        store[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to the
        module's tensor inputs are known (``None`` for inputs that do not require grad); a
        returned tuple replaces ``grad_input`` (see ``nn/_backward_hooks.py``)."""
        store = self.__dict__.setdefault("_backward_hooks", OrderedDict())
        handle = RemovableHandle(store)
        store[handle.id] = hook
        return handle

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"{extra}" if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._modules) | set(self._buffers)
        )
