"""``torch.nn.utils.prune``: pruning by masks, as the pruning tutorial uses it.

Pruning ``module.weight`` moves the parameter to ``weight_orig``, adds the buffer
``weight_mask`` (1 keeps an entry, 0 prunes it) and makes ``module.weight`` the plain tensor
``weight_orig * weight_mask``, recomputed by a forward pre-hook before every call, so the
gradient reaches ``weight_orig`` only where the mask is 1. Pruning the same tensor again
combines the masks as torch's ``PruningContainer``: the new method sees only what is still
unpruned (the remaining entries, or the remaining channels for a structured method) and
``amount`` counts in that. ``remove`` makes the pruned values permanent: ``weight`` a parameter
again, without ``_orig``, ``_mask`` or the hook. Names, the order of parameters and buffers,
hence state_dict keys, are torch's.

    l1_unstructured    the ``amount`` entries of smallest |w|
    random_unstructured  ``amount`` entries drawn at random (handgrad's generator)
    ln_structured      the ``amount`` slices along ``dim`` of smallest L_n norm
    global_unstructured  the smallest entries over several tensors together
    custom_from_mask, identity, remove, is_pruned

``amount`` is a count (int) or a fraction of the entries (float in [0, 1], rounded).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...random import _generator
from ..module import Module


def _count(amount: Any, size: int, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise TypeError(f"{what}: amount must be an int or a float, got {type(amount).__name__}")
    if isinstance(amount, int):
        if amount < 0 or amount > size:
            raise ValueError(f"{what}: amount={amount} must be in [0, {size}] (the entries)")
        return amount
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"{what}: amount={amount} must be in [0, 1] as a fraction")
    return int(round(amount * size))


class BasePruningMethod:
    """A pruning method: ``compute_mask(t, default_mask)`` on NumPy arrays; an instance is also
    the forward pre-hook that recomputes the pruned tensor."""

    PRUNING_TYPE = "unstructured"
    _tensor_name: str

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def apply_mask(self, module: Module) -> Tensor:
        orig = module._parameters[self._tensor_name + "_orig"]
        mask = module._buffers[self._tensor_name + "_mask"]
        return orig * mask

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, **kwargs: Any) -> BasePruningMethod:
        scores = kwargs.pop("importance_scores", None)
        return _prune(module, name, cls(*args, **kwargs), scores)


def _combine(method: BasePruningMethod, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """torch's PruningContainer: the new method computes its mask on what is still unpruned."""
    new = mask.astype(t.dtype).copy()
    if method.PRUNING_TYPE == "unstructured":
        keep = mask == 1
        new[keep] = method.compute_mask(t[keep], mask[keep])
        return new
    if method.PRUNING_TYPE == "global":  # a custom mask: over the whole tensor
        return method.compute_mask(t, new)
    dim = method.dim % t.ndim  # type: ignore[attr-defined]
    others = tuple(d for d in range(t.ndim) if d != dim)
    channels = mask.sum(axis=others) != 0
    index: list[Any] = [slice(None)] * t.ndim
    index[dim] = channels
    new[tuple(index)] = method.compute_mask(t[tuple(index)], mask[tuple(index)])
    return new


def _prune(
    module: Module, name: str, method: BasePruningMethod, importance_scores: Any = None
) -> BasePruningMethod:
    method._tensor_name = name
    already = name + "_orig" in module._parameters
    if already:
        orig = module._parameters[name + "_orig"]
        mask = module._buffers[name + "_mask"]._data
    else:
        orig = module._parameters.get(name)
        if orig is None:
            raise ValueError(f"prune: {type(module).__name__} has no parameter {name!r} to prune")
        mask = np.ones(orig.shape, orig._data.dtype)
    scores = (
        orig._data
        if importance_scores is None
        else np.asarray(
            importance_scores._data if isinstance(importance_scores, Tensor) else importance_scores
        )
    )
    new_mask = (
        _combine(method, scores, mask) if already else method.compute_mask(scores, mask)
    ).astype(orig._data.dtype)
    if not already:
        del module._parameters[name]
        module.register_parameter(name + "_orig", orig)
        module.register_buffer(name + "_mask", Tensor._wrap(new_mask))
        module.register_forward_pre_hook(method)
    else:
        module._buffers[name + "_mask"] = Tensor._wrap(new_mask)
    setattr(module, name, method.apply_mask(module))
    return method


class Identity(BasePruningMethod):
    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        return default_mask.copy()


class L1Unstructured(BasePruningMethod):
    def __init__(self, amount: Any) -> None:
        self.amount = amount

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        mask = default_mask.copy()
        k = _count(self.amount, t.size, "l1_unstructured")
        if k:
            # the k smallest |t|, ties to the lower flat index (a stable sort)
            order = np.argsort(np.abs(t).reshape(-1), kind="stable")[:k]
            mask.reshape(-1)[order] = 0
        return mask


class RandomUnstructured(BasePruningMethod):
    def __init__(self, amount: Any) -> None:
        self.amount = amount

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        mask = default_mask.copy()
        k = _count(self.amount, t.size, "random_unstructured")
        if k:
            order = np.argsort(_generator(None).random(t.size), kind="stable")[:k]
            mask.reshape(-1)[order] = 0
        return mask


class LnStructured(BasePruningMethod):
    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        dim = self.dim % t.ndim
        k = _count(self.amount, t.shape[dim], "ln_structured")
        others = tuple(d for d in range(t.ndim) if d != dim)
        n = self.n
        a = np.abs(t.astype(np.float64))
        if n in ("fro", 2):
            norms = np.sqrt((a * a).sum(axis=others))
        elif n in (np.inf, float("inf")):
            norms = a.max(axis=others)
        else:
            norms = (a**n).sum(axis=others) ** (1.0 / n)
        keep = np.argsort(-norms, kind="stable")[: t.shape[dim] - k]
        channel_mask = np.zeros(t.shape[dim], t.dtype)
        channel_mask[keep] = 1
        shape = [1] * t.ndim
        shape[dim] = t.shape[dim]
        return default_mask * channel_mask.reshape(shape)


class CustomFromMask(BasePruningMethod):
    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = np.asarray(mask._data if isinstance(mask, Tensor) else mask)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        return default_mask * self.mask.astype(default_mask.dtype)


def identity(module: Module, name: str) -> Module:
    Identity.apply(module, name)
    return module


def l1_unstructured(
    module: Module, name: str, amount: Any, importance_scores: Any = None
) -> Module:
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    RandomUnstructured.apply(module, name, amount=amount)
    return module


def ln_structured(
    module: Module, name: str, amount: Any, n: Any, dim: int, importance_scores: Any = None
) -> Module:
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    CustomFromMask.apply(module, name, mask=mask)
    return module


def global_unstructured(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: type,
    importance_scores: dict | None = None,
    **kwargs: Any,
) -> None:
    """Prune the (module, name) pairs together: the method's mask is computed on all their
    entries (each already-pruned entry kept out), then applied to each as a custom mask."""
    pairs = list(parameters)
    scores, masks = [], []
    for module, name in pairs:
        t = module._parameters.get(name + "_orig", module._parameters.get(name))
        if t is None:
            raise ValueError(f"global_unstructured: {type(module).__name__} has no {name!r}")
        given = (importance_scores or {}).get((module, name))
        scores.append((t if given is None else given)._data.reshape(-1))
        m = module._buffers.get(name + "_mask")
        masks.append(
            np.ones(t.shape, t._data.dtype).reshape(-1) if m is None else m._data.reshape(-1)
        )
    flat_scores, flat_mask = np.concatenate(scores), np.concatenate(masks)
    method = pruning_method(**kwargs)
    keep = flat_mask == 1
    final = flat_mask.copy()
    final[keep] = method.compute_mask(flat_scores[keep], flat_mask[keep])
    start = 0
    for (module, name), s in zip(pairs, scores):
        shape = module._parameters.get(name + "_orig", module._parameters.get(name)).shape
        custom_from_mask(module, name, final[start : start + s.size].reshape(shape))
        start += s.size


def remove(module: Module, name: str) -> Module:
    """Make the pruning permanent: ``name`` a parameter holding orig * mask, the originals, the
    mask and the hook gone."""
    if name + "_orig" not in module._parameters:
        raise ValueError(
            f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
        )
    hooks = module._forward_pre_hooks
    for hid, hook in list(hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            del hooks[hid]
    module.__dict__.pop(name, None)
    orig = module._parameters.pop(name + "_orig")
    mask = module._buffers.pop(name + "_mask")
    # orig * mask as it is now (the tensor the last forward made predates the last step)
    orig.data = orig.detach() * mask
    module.register_parameter(name, orig)
    return module


def is_pruned(module: Module) -> bool:
    return any(
        isinstance(hook, BasePruningMethod)
        for m in module.modules()
        for hook in m._forward_pre_hooks.values()
    )


__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_unstructured",
    "remove",
]
