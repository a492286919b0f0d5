"""Gradient clipping, flat parameter vectors and padding of variable-length sequences
(``torch.nn.utils``); packed sequences are in the submodule ``rnn`` (``torch.nn.utils.rnn``),
whose ``pad_sequence`` is also importable from here."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._tensor import Tensor
from .rnn import pad_sequence  # torch.nn.utils.pad_sequence is torch.nn.utils.rnn's


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _total_norm(arrays: list[np.ndarray], norm_type: float) -> float:
    if math.isinf(norm_type):
        return max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    total = sum(float((np.abs(a.astype(np.float64)) ** norm_type).sum()) for a in arrays)
    return float(total ** (1.0 / norm_type))


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: object = None,
) -> Tensor:
    """The ``norm_type``-norm of all the given tensors concatenated into one vector (torch
    2.6's ``get_total_norm``; ``clip_grad_norm_`` is it on the gradients followed by
    ``clip_grads_with_norm_``)."""
    arrays = [t._data for t in _params(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._wrap(np.array(0.0, np.float32))
    total = _total_norm(arrays, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"get_total_norm: the total norm of order {norm_type} of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    return Tensor._wrap(np.array(total, dtype=arrays[0].dtype))


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor | float,
    foreach: object = None,
) -> None:
    """Multiply every gradient in place by min(1, max_norm / (total_norm + 1e-6)), PyTorch's
    formula, with ``total_norm`` measured beforehand (``get_total_norm``)."""
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef < 1:
        for p in _params(parameters):
            if p.grad is not None:
                p.grad._data *= coef


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
    params = [p for p in _params(parameters) if p.grad is not None]
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


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


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Any:
    """``module_cls(*args, **kwargs)`` (torch's ``skip_init``). torch leaves the parameters
    uninitialised to save the initialiser's time; here they hold the class's initial values, which
    a program that skips the initialisation overwrites anyway."""
    kwargs.pop("device", None)
    return module_cls(*args, **kwargs)


__all__ = [
    "skip_init",
    "clip_grad_norm_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
    "pad_sequence",
]


from . import fusion, parametrizations, parametrize, prune, stateless  # noqa: E402,F401
