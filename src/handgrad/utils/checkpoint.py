"""``torch.utils.checkpoint``: activation checkpointing trades memory for a second forward pass.
handgrad keeps every activation, so ``checkpoint(fn, *args)`` is ``fn(*args)``: the same values
and gradients, without the memory saving."""

from __future__ import annotations

from typing import Any


def checkpoint(function: Any, *args: Any, use_reentrant: bool | None = None, **kwargs: Any) -> Any:
    kwargs.pop("preserve_rng_state", None)
    kwargs.pop("context_fn", None)
    kwargs.pop("determinism_check", None)
    kwargs.pop("debug", None)
    return function(*args, **kwargs)


def checkpoint_sequential(
    functions: Any, segments: int, input: Any, use_reentrant: bool | None = None, **kwargs: Any
) -> Any:
    """The modules (or functions) of a Sequential applied in order."""
    for fn in functions.children() if hasattr(functions, "children") else functions:
        input = fn(input)
    return input


__all__ = ["checkpoint", "checkpoint_sequential"]
