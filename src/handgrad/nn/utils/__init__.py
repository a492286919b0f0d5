"""Gradient clipping, flat parameter vectors and padding of variable-length sequences
(``torch.nn.utils``); packed sequences are in the submodule ``rnn`` (``torch.nn.utils.rnn``),
whose ``pad_sequence`` is also importable from here."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor
from .rnn import pad_sequence  # torch.nn.utils.pad_sequence is torch.nn.utils.rnn's


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: object = None,
) -> Tensor:
    """Rescale the gradients in place so that their joint ``norm_type``-norm (all gradients
    concatenated into one vector) is at most ``max_norm``: every gradient is multiplied by
    min(1, max_norm / (total_norm + 1e-6)), PyTorch's formula. Returns the total norm measured
    before clipping. Parameters without a gradient are skipped."""
    grads = [p.grad._data for p in _params(parameters) if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor._wrap(np.array(0.0, np.float32))
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((np.abs(g.astype(np.float64)) ** norm_type).sum()) for g in grads)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return Tensor._wrap(np.array(total, dtype=grads[0].dtype))


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: object = None
) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    c = float(clip_value)
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -c, c, out=p.grad._data)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated, in order (a copy, outside the graph)."""
    arrays = [p._data.reshape(-1) for p in _params(parameters)]
    if not arrays:
        raise ValueError("parameters_to_vector: got an empty parameter list")
    return Tensor._wrap(np.concatenate(arrays))


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (the inverse of
    ``parameters_to_vector``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(
            f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}"
        )
    params = _params(parameters)
    flat = vec._data.reshape(-1)
    need = sum(p.numel() for p in params)
    if flat.size != need:
        raise ValueError(
            f"vector_to_parameters: vec has {flat.size} elements but the parameters have {need}"
        )
    start = 0
    for p in params:
        n = p.numel()
        p._data[...] = flat[start : start + n].reshape(p.shape)
        p._version[0] += 1
        start += n


__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
    "pad_sequence",
]


from . import parametrizations, parametrize  # noqa: E402,F401  (as torch.nn.utils imports them)
