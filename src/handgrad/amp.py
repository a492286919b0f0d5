"""``torch.amp``: automatic mixed precision, as a CPU-only float32 framework can honour it.

``autocast`` is accepted (as a context manager and as a decorator) and computes nothing
differently: handgrad has no reduced-precision kernels, so every operation stays in its
inputs' dtype. (torch's CPU autocast runs matrix products in bfloat16; a program's results under
it are torch's float32 results to about three decimal digits, and handgrad's are the float32
ones: docs/differences.md, "Not compared".)

``GradScaler`` does what torch's does, because a training loop's control flow depends on it: the
loss is multiplied by the scale before ``backward``, ``unscale_`` divides the gradients by it
and looks for inf or NaN, ``step`` skips the optimizer's step when it found one, and ``update``
halves the scale after such a step and doubles it after ``growth_interval`` clean ones. Built
for ``device="cuda"`` (torch's default) it disables itself with a warning, as torch does on a
machine without CUDA; ``device="cpu"`` scales.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np

from ._tensor_base import TensorBase
from .autograd.grad_mode import no_grad


class autocast:  # noqa: N801  (torch's name)
    """``with autocast("cpu", dtype=..., enabled=...)``: accepted, no change of precision."""

    def __init__(
        self,
        device_type: str = "cpu",
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(
                f"autocast: device_type must be a string ('cpu', 'cuda'), got {device_type!r}"
            )
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, enabled

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper


def is_autocast_available(device_type: str) -> bool:
    return device_type == "cpu"


class GradScaler:
    """Loss scaling for mixed precision, with torch's arguments and state (see the module
    docstring)."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if enabled and device == "cuda":
            warnings.warn(
                "GradScaler is enabled, but CUDA is not available. Disabling.", stacklevel=2
            )
            enabled = False
        self._enabled = enabled
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval, self._growth_tracker = int(growth_interval), 0
        self._per_optimizer: dict[int, dict[str, bool]] = {}

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs: Any) -> Any:
        """outputs times the scale (a tensor, or tensors in lists and tuples)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def _state(self, optimizer: Any) -> dict[str, bool]:
        return self._per_optimizer.setdefault(id(optimizer), {"unscaled": False, "inf": False})

    def unscale_(self, optimizer: Any) -> None:
        """Divide the optimizer's gradients by the scale, in place, and note any inf or NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["unscaled"]:
            raise RuntimeError(
                "unscale_: unscale_() has already been called on this optimizer since the "
                "last update()"
            )
        inv = 1.0 / self._scale
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad._data
                    g *= np.asarray(inv, g.dtype)
                    found = found or not bool(np.isfinite(g).all())
        state["unscaled"], state["inf"] = True, found

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step()`` unless the unscaled gradients hold an inf or NaN (then skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._state(optimizer)
        if not state["unscaled"]:
            self.unscale_(optimizer)
        if state["inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | TensorBase | None = None) -> None:
        """Back off after a step that found inf or NaN, grow after growth_interval clean ones."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = new_scale.item() if isinstance(new_scale, TensorBase) else new_scale
            self._scale = float(value)
        elif any(s["inf"] for s in self._per_optimizer.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self) -> dict[str, Any]:
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._enabled:
            return
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


__all__ = ["GradScaler", "autocast", "is_autocast_available"]
