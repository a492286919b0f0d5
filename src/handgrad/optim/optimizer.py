"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``zero_grad`` and state
dicts, with torch.optim's interface and state-dict layout.

Subclasses implement ``_step_group(group)``; it updates each ``p._data`` in place with NumPy
(no graph is recorded, state arrays are allocated once, lazily, at a parameter's first step).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import enable_grad


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _check(cls_name: str, name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{cls_name}: invalid {name}={value!r} ({rule})")


class Optimizer:
    """Base class of every optimizer.

    ``params`` is an iterable of tensors or of dicts (parameter groups, each with a ``params``
    entry and optional per-group hyper-parameters overriding ``defaults``). ``state[p]`` holds a
    parameter's state (momentum buffers, moment estimates, step counts).
    """

    def __init__(self, params: Any, defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params argument given to the optimizer should be an "
                f"iterable of Tensors or dicts, but got a single Tensor of shape {params.shape}"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ---- hyper-parameter validation (called from subclasses' __init__ and add_param_group) ----

    def _validate(self, group: dict) -> None:
        """Check a group's hyper-parameters; subclasses extend it and name the value at fault."""
        lr = group.get("lr")
        if lr is not None and not isinstance(lr, _Required):
            _check(type(self).__name__, "learning rate lr", lr, float(lr) >= 0, "must be >= 0")
        wd = group.get("weight_decay")
        if wd is not None:
            _check(type(self).__name__, "weight_decay", wd, wd >= 0, "must be >= 0")
        eps = group.get("eps")
        if eps is not None:
            _check(type(self).__name__, "eps", eps, eps >= 0, "must be >= 0")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. a new layer to train
        with a different learning rate); missing ones are taken from ``defaults``."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} of the group is a "
                                f"{type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}, "
                    f"made by {p.grad_fn!r}); optimize the leaf it was computed from, or "
                    "detach().requires_grad_() it"
                )
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: parameter {i} has dtype {p.dtype}; only floating "
                                "tensors can be optimized")
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            if isinstance(default, _Required) and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._validate(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same tensor twice")
        if seen & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ---- stepping -----------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, the default, or zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient. ``closure`` (re-evaluating the
        model and returning the loss, with gradients) is called first, with grad enabled, and its
        loss returned, as in PyTorch."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _grad(p: Tensor, group: dict) -> np.ndarray | None:
        """The gradient array (sign-flipped with ``maximize``), or None for no gradient."""
        if p.grad is None:
            return None
        g = p.grad._data
        if g.shape != p._data.shape:
            raise RuntimeError(f"optimizer: gradient of shape {g.shape} does not match its "
                               f"parameter of shape {p.shape}")
        return -g if group.get("maximize") else g

    @staticmethod
    def _bump(p: Tensor) -> None:
        p._version[0] += 1  # graphs that saved the old value must refuse to backward through it

    # ---- state dicts --------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``: PyTorch's
        layout, parameters replaced by their position across all groups. The state is a deep
        copy (tensors included), so later steps do not change a saved dict."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (or a copy loaded from disk). The groups must
        have the same sizes and every state tensor the shape of its parameter; otherwise the
        error lists the mismatches."""
        name = type(self).__name__
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved)} parameter "
                             f"groups but the optimizer has {len(self.param_groups)}")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved]
        if sizes != saved_sizes:
            raise ValueError(f"{name}.load_state_dict: group sizes {saved_sizes} in the state dict "
                             f"do not match the optimizer's {sizes}")
        by_index: dict[int, Tensor] = {}
        for g, sg in zip(self.param_groups, saved):
            for p, i in zip(g["params"], sg["params"]):
                by_index[_plain_key(i)] = p
        states = {_plain_key(k): v for k, v in state_dict["state"].items()}
        unknown = sorted(set(states) - set(by_index))
        problems = []
        if unknown:
            problems.append(f"state for unknown parameter indices {unknown}")
        for i, st in states.items():
            p = by_index.get(i)
            if p is None:
                continue
            for k, v in st.items():
                shape = _shape(v)
                if shape is not None and shape != p.shape and k != "step":
                    problems.append(f"parameter {i} state {k!r}: shape {shape} vs parameter "
                                    f"{p.shape}")
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))
        self.state = {}
        for i, st in states.items():
            p = by_index[i]
            self.state[p] = {k: _restore(k, v, p) for k, v in st.items()}
        for g, sg in zip(self.param_groups, saved):
            for k, v in sg.items():
                if k != "params":
                    g[k] = copy.deepcopy(v)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


def _plain_key(k: Any) -> Any:
    return int(k) if isinstance(k, (str, np.integer)) and str(k).lstrip("-").isdigit() else k


def _shape(v: Any) -> tuple | None:
    if isinstance(v, (Tensor, np.ndarray)):
        return tuple(v.shape)
    if hasattr(v, "shape") and hasattr(v, "detach"):  # a torch.Tensor
        return tuple(v.shape)
    return None


def _copy_value(v: Any) -> Any:
    if isinstance(v, Tensor):
        return Tensor._wrap(v._data.copy())
    if isinstance(v, np.ndarray):
        return v.copy()
    return copy.deepcopy(v)


def _restore(key: str, v: Any, p: Tensor) -> Any:
    """A state entry as the optimizer keeps it: step counts as Python numbers, buffers as
    tensors (from handgrad tensors, arrays or torch tensors). Floating buffers keep their saved
    dtype, so a round trip is exact (MirrorDescent keeps float64 duals for float32 parameters)."""
    if isinstance(v, Tensor):
        array = v._data
    elif isinstance(v, np.ndarray):
        array = v
    elif hasattr(v, "detach") and hasattr(v, "shape"):
        array = v.detach().cpu().numpy()
    else:
        return copy.deepcopy(v)
    if key == "step":
        return array.item()
    return Tensor._wrap(np.array(array, dtype=array.dtype if array.dtype.kind == "f" else p.dtype))


__all__ = ["Optimizer", "required"]
