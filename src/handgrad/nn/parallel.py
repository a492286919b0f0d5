"""``nn.parallel.DataParallel`` (also ``nn.DataParallel``) on one device: a pass-through.

torch's DataParallel splits a batch over GPUs; on handgrad's single CPU device the wrapped
module runs the whole batch. What programs rely on is kept: the wrapped model is ``.module``,
and state-dict keys carry torch's ``module.`` prefix (the wrapped model is a child named
``module``), so checkpoints move between the two libraries unchanged.
"""

from __future__ import annotations

from typing import Any

from .module import Module


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``. Only the CPU
    exists, so ``device_ids`` may be None, empty or name the CPU; the forward is
    ``module(*inputs, **kwargs)``."""

    def __init__(
        self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DataParallel: expected an nn.Module to wrap, got {type(module).__name__}"
            )
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


__all__ = ["DataParallel"]
