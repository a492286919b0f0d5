"""Grad mode and anomaly mode: per-thread switches, as in PyTorch.

Each thread has its own switches (a ``threading.local``), so ``no_grad()`` in one thread does not
stop another thread from recording its graph. A new thread starts with recording on and anomaly
detection off, whatever the thread that started it had set (PyTorch's rule too).

This module is the only one that writes the switches; everything else reads them through
``is_grad_enabled()`` / ``is_anomaly_enabled()`` or changes them with the context managers below.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class _ThreadState(threading.local):
    # Class attributes are every thread's starting values; an assignment is seen by its thread only.
    grad_enabled = True
    anomaly = False
    anomaly_node = ""  # under detect_anomaly: the node whose backward is running


_state = _ThreadState()
# How many threads have anomaly detection on: the primitives read this plain list first, so that
# the common case (off everywhere) costs no thread-local lookup per operation. Written only here.
_anomaly_threads = [0]


def _set_anomaly(mode: bool) -> bool:
    """Set this thread's anomaly mode, keep the count of threads with it on; return the previous."""
    prev = _state.anomaly
    if mode != prev:
        _anomaly_threads[0] += 1 if mode else -1
        _state.anomaly = mode
    return prev


def is_grad_enabled() -> bool:
    """Whether operations are recorded for backward in this thread."""
    return _state.grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is on in this thread."""
    return _state.anomaly


def _swap_grad_enabled(mode: bool) -> bool:
    """Set this thread's grad mode and return the previous one (the engine's cheap save/restore)."""
    prev = _state.grad_enabled
    _state.grad_enabled = mode
    return prev


def anomaly_node() -> str:
    """The name of the node whose backward is running under ``detect_anomaly`` ('' otherwise)."""
    return _state.anomaly_node


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off, as in PyTorch.

    As PyTorch's, it also takes effect when called as a plain function: ``set_grad_enabled(False)``
    switches recording off in this thread until it is switched on again.
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _state.grad_enabled
        self.mode = bool(mode)
        _state.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode
        _state.grad_enabled = self.prev  # as a decorator it must not change the mode now

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self.prev = _state.grad_enabled
        _state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self.prev

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


class inference_mode(_GradModeContext):
    """``no_grad`` for inference (``inference_mode(False)`` leaves the mode as it is).

    PyTorch also marks tensors made inside as "inference tensors" to skip version counting; handgrad
    keeps no such distinction, so this is ``no_grad`` under PyTorch's name.
    """

    def __init__(self, mode: bool = True) -> None:
        self.enabled = bool(mode)

    def __enter__(self) -> None:
        self.prev = _state.grad_enabled
        if self.enabled:
            _state.grad_enabled = False

    def __call__(self, fn: Callable) -> Callable:
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        return wrapper


class detect_anomaly:
    """Raise as soon as a forward or backward step produces NaN or Inf, naming the operation.

    Slower (every result is scanned), so meant for debugging, as in PyTorch.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self.prev = _set_anomaly(bool(self.check_nan))

    def __exit__(self, *exc: object) -> None:
        _set_anomaly(self.prev)


def set_detect_anomaly(mode: bool) -> None:
    """Switch anomaly detection on or off in this thread (``torch.autograd.set_detect_anomaly``)."""
    _set_anomaly(bool(mode))


@contextmanager
def running_backward_of(name: str) -> Iterator[None]:
    """Name the node whose backward runs, so that anomaly errors raised inside name it."""
    prev = _state.anomaly_node
    _state.anomaly_node = name
    try:
        yield
    finally:
        _state.anomaly_node = prev


__all__ = [
    "detect_anomaly",
    "enable_grad",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
