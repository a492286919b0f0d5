"""``torch.jit``: handgrad runs Python eagerly, so scripting and tracing return what they were
given (its results are the eager ones, which is what TorchScript promises to reproduce)."""

from __future__ import annotations

from typing import Any


def script(obj: Any, *args: Any, **kwargs: Any) -> Any:
    """``torch.jit.script(module_or_function)``: the object itself."""
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """``torch.jit.trace(func, example_inputs)``: the function (or module) itself."""
    return func


def ignore(fn: Any = None, **kwargs: Any) -> Any:
    return fn if fn is not None else (lambda f: f)


def unused(fn: Any) -> Any:
    return fn


__all__ = ["ignore", "script", "trace", "unused"]
