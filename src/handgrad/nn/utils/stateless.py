"""``torch.nn.utils.stateless.functional_call`` (also ``torch.func.functional_call``): the
module run with some of its parameters and buffers replaced by the given tensors, by their
``state_dict`` names, for one call; the originals are restored afterwards, also when the call
raises. With ``tie_weights`` a replacement also takes the place of every name tied to the same
tensor (an embedding shared with the output head)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..._tensor import lift
from ..module import Module


def _slots(module: Module) -> Iterator[tuple[str, dict, str]]:
    """(state_dict name, the dict holding it, key) for every parameter and buffer, tied ones
    under each of their names."""
    for prefix, m in module.named_modules(remove_duplicate=False):
        for store in (m._parameters, m._buffers):
            for key, t in store.items():
                if t is not None:
                    yield (f"{prefix}.{key}" if prefix else key), store, key


@contextmanager
def _swapped(module: Module, tensors: dict[str, Any], tie_weights: bool, strict: bool):
    slots = list(_slots(module))
    names = {name for name, _, _ in slots}
    unexpected = [k for k in tensors if k not in names]
    missing = [n for n in names if n not in tensors]
    if strict and (unexpected or missing):
        raise RuntimeError(
            f"functional_call: strict=True, missing keys {missing}, unexpected keys {unexpected}"
        )
    if unexpected:  # an AttributeError, as torch's
        raise AttributeError(
            f"functional_call: {type(module).__name__} has no parameter or buffer {unexpected}"
        )
    by_id: dict[int, Any] = {}
    if tie_weights:
        for name, store, key in slots:
            if name in tensors:
                by_id[id(store[key])] = tensors[name]
    saved = []
    for name, store, key in slots:
        old = store[key]
        new = tensors[name] if name in tensors else by_id.get(id(old))
        if new is not None:
            saved.append((store, key, old, new))
    for store, key, _, new in saved:
        store[key] = lift(new)
    try:
        yield
    finally:
        for store, key, old, _ in reversed(saved):
            store[key] = old


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with the named parameters and buffers replaced by the given
    tensors for this call only (a dict, or a sequence of dicts with distinct keys)."""
    dicts = (
        [parameter_and_buffer_dicts]
        if isinstance(parameter_and_buffer_dicts, dict)
        else list(parameter_and_buffer_dicts)
    )
    tensors: dict[str, Any] = {}
    for d in dicts:
        clash = set(d) & set(tensors)
        if clash:
            raise ValueError(f"functional_call: {sorted(clash)} appear in more than one dict")
        tensors.update(d)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, tensors, tie_weights, strict):
        return module(*args, **(kwargs or {}))


__all__ = ["functional_call"]
