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
# One entry per thread that has recording off: while the list is empty, the primitives know the
# mode without a thread-local lookup (a fast path on every operation). append and pop are atomic,
# and they are ordered so that the list is never empty while some thread's switch is off.
# Written only here.
_grad_off_threads: list = []
# Likewise one entry per thread that has anomaly detection on.
_anomaly_threads: list = []


def _set_grad_enabled(mode: bool) -> bool:
    """Set this thread's grad mode; return the previous one."""
    prev = _state.grad_enabled
    if mode != prev:
        if mode:
            _state.grad_enabled = True
            _grad_off_threads.pop()
        else:
            _grad_off_threads.append(None)
            _state.grad_enabled = False
    return prev


def _set_anomaly(mode: bool) -> bool:
    """Set this thread's anomaly mode; return the previous one."""
    prev = _state.anomaly
    if mode != prev:
        if mode:
            _anomaly_threads.append(None)
            _state.anomaly = True
        else:
            _state.anomaly = False
            _anomaly_threads.pop()
    return prev


def is_grad_enabled() -> bool:
    """Whether operations are recorded for backward in this thread."""
    return _state.grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is on in this thread."""
    return _state.anomaly


def _swap_grad_enabled(mode: bool) -> bool:
    """Set this thread's grad mode and return the previous one (the engine's cheap save/restore)."""
    return _set_grad_enabled(mode)


def anomaly_node() -> str:
    """The name of the node whose backward is running under ``detect_anomaly`` ('' otherwise)."""
    return _state.anomaly_node


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off, as in PyTorch.

    As PyTorch's, it also takes effect when called as a plain function: ``set_grad_enabled(False)``
    switches recording off in this thread until it is switched on again.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = _set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _set_grad_enabled(self.prev)

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode
        _set_grad_enabled(self.prev)  # as a decorator it must not change the mode now

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self.prev = _set_grad_enabled(self.mode)

    def __exit__(self, *exc: object) -> None:
        _set_grad_enabled(self.prev)

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
        self.prev = _set_grad_enabled(False) if self.enabled else _state.grad_enabled

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
