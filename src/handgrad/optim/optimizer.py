"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``zero_grad`` and state
dicts, with torch.optim's interface and state-dict layout.

Subclasses implement ``_step_group(group)``; it updates each ``p._data`` in place with NumPy
(no graph is recorded, state arrays are allocated once, lazily, at a parameter's first step).
A user-written optimizer may instead override ``step`` as in torch (``@torch.no_grad()``,
``state = self.state[p]`` on the ``defaultdict(dict)``, in-place tensor updates); step pre/post
hooks run around either.
"""

from __future__ import annotations

import copy
import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, get_default_dtype
from ..autograd import enable_grad
from ..utils.hooks import RemovableHandle


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _check(cls_name: str, name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{cls_name}: invalid {name}={value!r} ({rule})")


def _check_betas(cls_name: str, betas: Any) -> None:
    """The two decay rates of the Adam family, each in [0, 1), with torch's message."""
    for i, beta in enumerate(betas):
        _check(cls_name, f"beta parameter at index {i}", beta, 0 <= beta < 1, "must be in [0, 1)")


class Optimizer:
    """Base class of every optimizer.

    ``params`` is an iterable of tensors or of dicts (parameter groups, each with a ``params``
    entry and optional per-group hyper-parameters overriding ``defaults``). ``state[p]`` holds a
    parameter's state (momentum buffers, moment estimates, step counts).
    """

    # state entries have their parameter's shape (checked on load); LBFGS (flat vectors) and
    # Adafactor (row and column factors) set it False
    _per_parameter_state = True

    def __init__(self, params: Any, defaults: dict) -> None:
        self.defaults = dict(defaults)
        # a defaultdict, as torch's: ``state = self.state[p]`` in a user's step creates the entry
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        _hook_step(type(self))
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params argument given to the optimizer should be an "
                f"iterable of Tensors or dicts, but got a single Tensor of shape {params.shape}"
            )
        if isinstance(params, set):
            raise TypeError(
                f"{type(self).__name__}: optimizer parameters need to be organized in "
                "ordered collections, but the ordering of tensors in sets changes "
                "between runs; use a list instead"
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
            raise TypeError(
                f"{name}: a parameter group must be a dict, got {type(param_group).__name__}"
            )
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(
                f"{name}: optimizer parameters need to be organized in ordered "
                "collections (a set's order changes between runs); use a list"
            )
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        # (name, tensor) pairs, as model.named_parameters() yields: torch keeps the names
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names and len(names) != len(params):
            raise ValueError(
                f"{name}: all optimizer params should be with/without names; "
                f"{len(params) - len(names)} of {len(params)} have no name"
            )
        if names:
            params = [p[1] for p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: parameter {i} of the group is a {type(p).__name__}, not a Tensor"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}, "
                    f"made by {p.grad_fn!r}); optimize the leaf it was computed from, or "
                    "detach().requires_grad_() it"
                )
            if p.dtype.kind != "f":
                raise TypeError(
                    f"{name}: parameter {i} has dtype {p.dtype}; only floating "
                    "tensors can be optimized"
                )
        group = dict(param_group)
        group["params"] = params
        if names:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if isinstance(default, _Required) and key not in group:
                raise ValueError(
                    f"{name}: parameter group didn't specify a value of required "
                    f"optimization parameter {key}"
                )
            group.setdefault(key, default)
        self._validate(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            # torch only warns (its message announces an error) and would step the tensor twice
            raise ValueError(f"{name}: a parameter group contains the same tensor twice")
        if seen & {id(p) for p in params}:
            shared = [i for i, p in enumerate(params) if id(p) in seen]
            raise ValueError(
                f"{name}: some parameters appear in more than one parameter group "
                f"(positions {shared} of the new group are already optimized)"
            )
        if self.param_groups and any(
            ("param_names" in g) != bool(names) for g in self.param_groups
        ):
            raise ValueError(
                f"{name}: all optimizer param groups should be with/without names "
                f"(the new group is {'with' if names else 'without'} names)"
            )
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

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each ``step``; it may return
        ``(new_args, new_kwargs)`` to replace the step's arguments, or None."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

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
            raise RuntimeError(
                f"optimizer: gradient of shape {g.shape} does not match its "
                f"parameter of shape {p.shape}"
            )
        return -g if group.get("maximize") else g

    @staticmethod
    def _bump(p: Tensor) -> None:
        p._version[0] += 1  # graphs that saved the old value must refuse to backward through it

    # ---- state dicts --------------------------------------------------------------------------

    def _hook_store(self, kind: str) -> OrderedDict:
        return self.__dict__.setdefault(f"_{kind}_hooks", OrderedDict())

    def _register(self, kind: str, hook: Callable, prepend: bool) -> RemovableHandle:
        store = self._hook_store(kind)
        handle = RemovableHandle(store)
        store[handle.id] = hook
        if prepend:
            store.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer)`` runs before ``state_dict`` builds the dict."""
        return self._register("state_dict_pre", hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` runs on the built dict; it may return a new one."""
        return self._register("state_dict_post", hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` runs before loading; it may return a new dict."""
        return self._register("load_state_dict_pre", hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer)`` runs after loading."""
        return self._register("load_state_dict_post", hook, prepend)

    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``: PyTorch's
        layout, parameters replaced by their position across all groups. The state is a deep
        copy (tensors included), so later steps do not change a saved dict."""
        for hook in list(self._hook_store("state_dict_pre").values()):
            hook(self)
        result = self._build_state_dict()
        for hook in list(self._hook_store("state_dict_post").values()):
            changed = hook(self, result)
            if changed is not None:
                result = changed
        return result

    def _build_state_dict(self) -> dict:
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
        # entries a user's optimizer keyed by something other than a parameter, as torch keeps
        for k, v in self.state.items():
            if not isinstance(k, Tensor):
                state[k] = copy.deepcopy(v)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (or a copy loaded from disk). The groups must
        have the same sizes and every state tensor the shape of its parameter; otherwise the
        error lists the mismatches."""
        for hook in list(self._hook_store("load_state_dict_pre").values()):
            changed = hook(self, state_dict)
            if changed is not None:
                state_dict = changed
        self._load(state_dict)
        for hook in list(self._hook_store("load_state_dict_post").values()):
            hook(self)

    def _load(self, state_dict: dict) -> None:
        name = type(self).__name__
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved)} parameter "
                f"groups but the optimizer has {len(self.param_groups)}"
            )
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved]
        if sizes != saved_sizes:
            raise ValueError(
                f"{name}.load_state_dict: group sizes {saved_sizes} in the state dict "
                f"do not match the optimizer's {sizes}"
            )
        by_index: dict[int, Tensor] = {}
        for g, sg in zip(self.param_groups, saved):
            for p, i in zip(g["params"], sg["params"]):
                by_index[_plain_key(i)] = p
        states = {_plain_key(k): v for k, v in state_dict["state"].items()}
        # keys that are not parameter indices (a user's optimizer may keep global state under a
        # string key) are restored as they are, as torch does
        unknown = sorted(k for k in set(states) - set(by_index) if isinstance(k, int))
        problems = []
        if unknown:
            problems.append(f"state for unknown parameter indices {unknown}")
        # a user's optimizer (one that overrides step, not _step_group) may keep state of any
        # shape, as torch allows; handgrad's own keep their parameter's shape, so check those
        check_shapes = (
            self._per_parameter_state and type(self)._step_group is not Optimizer._step_group
        )
        for i, st in states.items():
            p = by_index.get(i)
            if p is None or not check_shapes:
                continue
            for k, v in st.items():
                shape = _shape(v)
                # 0-d entries are scalar state (torch's step, NAdam's mu_product, ASGD's eta)
                if shape is not None and shape != p.shape and shape != ():
                    problems.append(
                        f"parameter {i} state {k!r}: shape {shape} vs parameter {p.shape}"
                    )
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))
        self.state = defaultdict(dict)
        for i, st in states.items():
            p = by_index.get(i)
            if p is None:
                self.state[i] = copy.deepcopy(st)
            else:
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


def _no_differentiable(name: str, differentiable: bool) -> None:
    """torch's ``differentiable=True`` records the update in the graph (to differentiate
    through training); handgrad's optimizers update in place with NumPy, so it is refused rather
    than ignored. ``foreach``, ``fused`` and ``capturable`` only choose torch's kernels and are
    accepted without effect."""
    if differentiable:
        raise NotImplementedError(
            f"{name}: differentiable=True is not supported (the update is "
            "applied in place and not recorded for autograd)"
        )


def _scalar_dtype() -> type:
    """The dtype torch keeps scalar optimizer state in (ASGD's eta, NAdam's mu_product): float64
    when the default dtype is float64, else float32. Rounding to it reproduces torch's steps."""
    return np.float64 if get_default_dtype() == np.float64 else np.float32


def _lerp_(avg: np.ndarray, g: np.ndarray, weight: float) -> None:
    """``avg <- avg + weight (g - avg)`` in place, in the form torch's ``lerp_`` uses for this
    weight (from the far end when weight >= 0.5), so the rounding is the same."""
    if weight < 0.5:
        avg += weight * (g - avg)
    else:
        np.subtract(g, (g - avg) * (1 - weight), out=avg)


def _buffer(array: np.ndarray) -> Tensor:
    """A state buffer as the optimizers keep it: a tensor around ``array`` (no copy)."""
    return Tensor._wrap(array)


def _array(v: Any) -> Any:
    """A state entry as NumPy: handgrad tensors and torch tensors (after loading torch's state
    dict) give their arrays; anything else is returned as it is."""
    if isinstance(v, Tensor):
        return v._data
    if hasattr(v, "detach") and hasattr(v, "shape"):
        return v.detach().cpu().numpy()
    return v


def _value(x: Any) -> float:
    """A scalar state entry as a Python float (it is a 0-d tensor after loading torch's dict)."""
    if isinstance(x, Tensor):
        return float(x._data)
    if hasattr(x, "item"):
        return float(x.item())
    return float(x)


_global_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` before every optimizer's step (before its own hooks)."""
    handle = RemovableHandle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` after every optimizer's step (after its own hooks)."""
    handle = RemovableHandle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


def _hook_step(cls: type[Optimizer]) -> None:
    """Wrap ``cls.step`` (a built-in one or a user's override) once so that the step pre/post
    hooks run around it, as torch patches the class of each optimizer it constructs."""
    step = cls.step
    if getattr(step, "_hooked", False):
        return

    @functools.wraps(step)
    def hooked_step(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        pre = [*_global_step_pre_hooks.values(), *self._optimizer_step_pre_hooks.values()]
        for hook in pre:
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{type(self).__name__}.step: a step pre-hook must return "
                        f"None or a tuple (new_args, new_kwargs), got {result!r}"
                    )
                args, kwargs = result
        out = step(self, *args, **kwargs)
        post = [*self._optimizer_step_post_hooks.values(), *_global_step_post_hooks.values()]
        for hook in post:
            hook(self, args, kwargs)
        return out

    hooked_step._hooked = True  # type: ignore[attr-defined]
    # patched on the class once, as torch wraps each optimizer class's step
    cls.step = hooked_step  # type: ignore[method-assign]


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
    if key == "step" or (array.ndim == 0 and p.ndim != 0):
        return array.item()
    return Tensor._wrap(np.array(array, dtype=array.dtype if array.dtype.kind == "f" else p.dtype))


__all__ = [
    "Optimizer",
    "required",
    "register_optimizer_step_pre_hook",
    "register_optimizer_step_post_hook",
]
