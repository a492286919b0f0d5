"""Learning-rate schedules (``torch.optim.lr_scheduler``): call ``scheduler.step()`` once per
epoch (or iteration), after ``optimizer.step()``.

Like PyTorch's, most schedules below update the *current* ``group['lr']`` multiplicatively
("chainable"), so two schedulers on one optimizer compose; ``_get_closed_form_lr`` gives the
formula of each. ``LambdaLR``, ``InverseTimeLR``, ``CosineAnnealingWarmRestarts``, ``CyclicLR``
and ``OneCycleLR`` are closed forms of the step count (the last one to step wins).
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """Base class: remembers each group's ``initial_lr`` (``base_lrs``) and the epoch count
    ``last_epoch``; construction takes the first step (``last_epoch`` 0)."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param 'initial_lr' is not specified "
                        f"in param_groups[{i}] when resuming with last_epoch="
                        f"{last_epoch}"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step taken on construction (and by SequentialLR when a schedule starts): chainable
        schedules leave the lr as it is there, whatever ``last_epoch`` they resume from."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:  # pragma: no cover
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch; ``step(epoch)`` jumps to ``epoch`` with the closed form (PyTorch's
        deprecated form)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        # SequentialLR calls this directly to restart a schedule at epoch 0 without counting a step
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            lrs = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest ``step``."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)

    def _group_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


def _check(cls: str, name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{cls}: invalid {name}={value!r} ({rule})")


# One function for every group, or a list (tuple) of one per group: torch tells them apart by
# list/tuple, not by any sequence.
LrLambdas = Callable | list[Callable] | tuple[Callable, ...]


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch) (one function, or one per group)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: LrLambdas, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas("LambdaLR", lr_lambda, len(optimizer.param_groups))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [_callable_state(f) for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", [])
        self.__dict__.update(state)
        for f, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                f.__dict__.update(saved)


def _callable_state(f: Callable) -> dict | None:
    # functions and lambdas are not state (they cannot be stored, PyTorch saves None too);
    # callable objects keep their attributes
    return None if isinstance(f, types.FunctionType) else dict(f.__dict__)


def _lambdas(cls: str, lr_lambda: LrLambdas, n: int) -> list[Callable]:
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if len(fns) != n:
        raise ValueError(f"{cls}: expected {n} lr_lambdas (one per param group), got {len(fns)}")
    for i, f in enumerate(fns):
        if not callable(f):
            raise TypeError(f"{cls}: lr_lambda {i} should be a function, got {type(f).__name__}")
    return fns


class StepLR(LRScheduler):
    """lr = base_lr * gamma^floor(epoch / step_size)."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        _check("StepLR", "step_size", step_size, int(step_size) >= 1, "must be a positive int")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma^(number of milestones <= epoch)."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._group_lrs()
        k = self.milestones[self.last_epoch]
        return [lr * self.gamma**k for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        ms = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(ms, self.last_epoch) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        _check("ExponentialLR", "gamma", gamma, gamma > 0, "must be > 0")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2 (Loshchilov & Hutter
    2017, SGDR, without restarts; past T_max the cosine continues, rising again, as in
    PyTorch). Computed recursively from the current lr, as PyTorch does."""

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        _check("CosineAnnealingLR", "T_max", T_max, T_max > 0, "must be > 0")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and e > 0:
            return [
                lo + (base - lo) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs
            ]
        if (e - 1 - T) % (2 * T) == 0:
            return [
                lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                for base, lr in zip(self.base_lrs, self._group_lrs())
            ]
        return [
            (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - lo) + lo
            for lr in self._group_lrs()
        ]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            self.eta_min
            + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): the factor goes from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then stays: lr = base_lr * (start + (end - start) min(epoch, total)
    / total)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        _check("LinearLR", "start_factor", start_factor, 0 < start_factor <= 1, "must be in (0, 1]")
        _check("LinearLR", "end_factor", end_factor, 0 <= end_factor <= 1, "must be in [0, 1]")
        _check("LinearLR", "total_iters", total_iters, total_iters > 0, "must be > 0")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        factor = 1.0 + (e - s) / (n * s + (self.last_epoch - 1) * (e - s))
        return [lr * factor for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(n, self.last_epoch) / n) for base in self.base_lrs]


class InverseTimeLR(LRScheduler):
    r"""lr = base_lr / (1 + decay * epoch)^power: the decreasing rate stochastic approximation
    needs (Robbins & Monro 1951: sum lr_t = inf and sum lr_t^2 < inf, i.e. 1/2 < power <= 1).

    Online k-means (``handgrad.cluster.OnlineKMeans``) moves the nearest centre by
    y_k <- y_k + lr_t (x - y_k); with a constant rate the centres keep oscillating around a
    local optimum, with this one they converge (with power = 1, decay = 1 and base_lr = 1
    a centre updated at every step is exactly the running mean of its points). A closed form of
    the epoch (not chainable).
    """

    def __init__(
        self, optimizer: Optimizer, decay: float = 1.0, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        _check("InverseTimeLR", "decay", decay, decay >= 0, "must be >= 0")
        _check("InverseTimeLR", "power", power, power >= 0, "must be >= 0")
        self.decay, self.power = decay, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self) -> list[float]:
        f = (1 + self.decay * self.last_epoch) ** self.power
        return [base / f for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for the first ``total_iters`` epochs, then base_lr (applied as a
    factor at epoch 0 and its inverse at ``total_iters``, so it chains)."""

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        _check("ConstantLR", "factor", factor, 0 <= factor <= 1, "must be in [0, 1]")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._group_lrs()]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [lr * (1.0 / self.factor) for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        # factor + (1 - factor) rather than 1.0: PyTorch's rounding, bit for bit
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * f for base in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """lr <- lr * lr_lambda(epoch) at every step but the initial one (one function, or one per
    group): lr_t = base_lr * prod_{s=1..t} lr_lambda(s)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: LrLambdas, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas("MultiplicativeLR", lr_lambda, len(optimizer.param_groups))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._group_lrs()
        return [lr * f(self.last_epoch) for lr, f in zip(self._group_lrs(), self.lr_lambdas)]

    state_dict = LambdaLR.state_dict
    load_state_dict = LambdaLR.load_state_dict


class PolynomialLR(LRScheduler):
    """lr = base_lr * (1 - min(epoch, total_iters) / total_iters)^power; applied as the ratio of
    consecutive factors, so it chains with other schedules."""

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        _check("PolynomialLR", "total_iters", total_iters, total_iters > 0, "must be > 0")
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, n = self.last_epoch, self.total_iters
        if self._is_initial or e > n:
            return self._group_lrs()
        f = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * f for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        f = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * f for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017): lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur /
    T_i)) / 2, where T_cur counts epochs since the last restart and the period T_i starts at T_0
    and is multiplied by T_mult at each restart. ``step(epoch)`` accepts fractional epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        _check(
            "CosineAnnealingWarmRestarts",
            "T_0",
            T_0,
            isinstance(T_0, int) and T_0 > 0,
            "must be a positive int",
        )
        _check(
            "CosineAnnealingWarmRestarts",
            "T_mult",
            T_mult,
            isinstance(T_mult, int) and T_mult >= 1,
            "must be an int >= 1",
        )
        _check(
            "CosineAnnealingWarmRestarts",
            "eta_min",
            eta_min,
            isinstance(eta_min, (float, int)),
            "must be a float",
        )
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        # fractional between restarts when step(epoch) is given a float epoch, as torch's
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: expected epoch >= 0, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # restarts so far: the n with T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._group_lrs()


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2017): the lr goes from ``base_lr`` up to ``max_lr`` in
    ``step_size_up`` steps and back down in ``step_size_down`` (default: as many), for ever. With
    S = step_size_up + step_size_down and r = step_size_up / S, at step t:

        cycle = floor(1 + t / S),  x = 1 + t / S - cycle  (position in the cycle, in [0, 1))
        h = x / r  if x <= r  else  (x - 1) / (r - 1)      (0 -> 1 -> 0)
        lr = base_lr + (max_lr - base_lr) h scale(cycle or t)

    with scale 1 ('triangular'), 1 / 2^(cycle - 1) ('triangular2', amplitude halved each cycle)
    or gamma^t ('exp_range'), or a user ``scale_fn`` of the cycle or of t (``scale_mode``). With
    ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's beta1) moves the other way:
    momentum = max_momentum - (max_momentum - base_momentum) h scale. Step once per batch; a
    closed form of t, so it does not chain.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        name = "CyclicLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: {type(optimizer).__name__} is not an Optimizer")
        groups = optimizer.param_groups
        base_lrs = _per_group(name, "base_lr", base_lr, len(groups))
        self.max_lrs = _per_group(name, "max_lr", max_lr, len(groups))
        _check(name, "step_size_up", step_size_up, step_size_up > 0, "must be > 0")
        _check(
            name,
            "step_size_down",
            step_size_down,
            step_size_down is None or step_size_down >= 0,
            "must be >= 0",
        )
        if scale_fn is None:
            _check(
                name,
                "mode",
                mode,
                mode in ("triangular", "triangular2", "exp_range"),
                "must be 'triangular', 'triangular2' or 'exp_range' when scale_fn is None",
            )
        else:
            _check(
                name,
                "scale_mode",
                scale_mode,
                scale_mode in ("cycle", "iterations"),
                "must be 'cycle' or 'iterations'",
            )
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        # the built-in modes fix what they scale by
        self.scale_mode = (
            scale_mode if scale_fn is not None else "iterations" if mode == "exp_range" else "cycle"
        )
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"{name}: cycle_momentum needs an optimizer with momentum or "
                    f"betas, {type(optimizer).__name__} has neither"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(name, "base_momentum", base_momentum, len(groups))
            self.max_momentums = _per_group(name, "max_momentum", max_momentum, len(groups))
        if last_epoch == -1:
            for group, lr in zip(groups, base_lrs):
                group["lr"] = lr
            if cycle_momentum:
                for group, lo, hi in zip(groups, self.base_momentums, self.max_momentums):
                    _set_momentum(group, hi, self.use_beta1)
                    group["base_momentum"], group["max_momentum"] = lo, hi
        super().__init__(optimizer, last_epoch)
        # the cycle's floor is base_lr, not the optimizer's initial_lr
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:
            h = x / self.step_ratio
        else:
            h = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (top - base) * h * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                _set_momentum(group, hi - (hi - lo) * h * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict:
        state = {
            k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_scale_fn_custom")
        }
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = None if fn is None else _callable_state(fn)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_scale_fn_custom", None)
        self.__dict__.update(state)
        if saved is not None:
            self._scale_fn_custom.__dict__.update(saved)


def _set_momentum(group: dict, m: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (m, *group["betas"][1:])
    else:
        group["momentum"] = m


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018): the lr rises from max_lr / div_factor to max_lr
    over the first pct_start of ``total_steps``, then anneals to initial_lr / final_div_factor
    (``three_phase``: back to the initial lr first, then down); the momentum (SGD's ``momentum``
    or Adam's beta1) moves the opposite way between max_momentum and base_momentum. Annealing is
    cosine, end + (start - end) (1 + cos(pi t)) / 2, or linear, for t in [0, 1] within a phase.
    Step once per batch."""

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        name = "OneCycleLR"
        if total_steps is not None:
            _check(
                name,
                "total_steps",
                total_steps,
                isinstance(total_steps, int) and total_steps > 0,
                "must be a positive int",
            )
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _check(
                name,
                "epochs",
                epochs,
                isinstance(epochs, int) and epochs > 0,
                "must be a positive int",
            )
            _check(
                name,
                "steps_per_epoch",
                steps_per_epoch,
                isinstance(steps_per_epoch, int) and steps_per_epoch > 0,
                "must be a positive int",
            )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: define either total_steps or (epochs and steps_per_epoch)")
        _check(
            name,
            "pct_start",
            pct_start,
            isinstance(pct_start, float) and 0 <= pct_start <= 1,
            "must be a float in [0, 1]",
        )
        _check(
            name,
            "anneal_strategy",
            anneal_strategy,
            anneal_strategy in ("cos", "linear"),
            "must be 'cos' or 'linear'",
        )
        self.anneal_strategy, self.cycle_momentum = anneal_strategy, cycle_momentum
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (
                    float(2 * pct_start * self.total_steps) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"{name}: cycle_momentum needs an optimizer with momentum or "
                    f"betas, {type(optimizer).__name__} has neither"
                )
            self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch == -1:
            for group, top in zip(groups, _per_group(name, "max_lr", max_lr, len(groups))):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                for group, lo, hi in zip(
                    groups,
                    _per_group(name, "base_momentum", base_momentum, len(groups)),
                    _per_group(name, "max_momentum", max_momentum, len(groups)),
                ):
                    _set_momentum(group, hi, self.use_beta1)
                    group["base_momentum"], group["max_momentum"] = lo, hi
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, t: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * t) + 1)
        return (end - start) * t + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    t = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], t))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m0], group[m1], t)
                        _set_momentum(group, momentum, self.use_beta1)
                    break
                start = end
        return lrs


def _per_group(cls: str, name: str, value: Any, n: int) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{cls}: expected {n} values of {name}, got {len(value)}")
        return list(value)
    return [value] * n


def _check_children(cls: str, schedulers: Sequence[Any], optimizer: Optimizer) -> None:
    if len(schedulers) < 1:
        raise ValueError(f"{cls}: expected at least one scheduler, got none")
    for i, sch in enumerate(schedulers):
        if not hasattr(sch, "optimizer"):
            raise TypeError(f"{cls}: scheduler {i} ({type(sch).__name__}) has no optimizer")
        if isinstance(sch, ReduceLROnPlateau):  # a ValueError in PyTorch too
            msg = f"{cls}: scheduler {i} is a ReduceLROnPlateau, whose step needs the metric"
            raise ValueError(msg)  # noqa: TRY004
        if sch.optimizer is not optimizer:
            raise ValueError(
                f"{cls}: scheduler {i} ({type(sch).__name__}) drives another "
                "optimizer than the one given"
            )


class SequentialLR(LRScheduler):
    """Runs ``schedulers`` one after the other: the i-th takes over at ``milestones[i - 1]`` and
    restarts from its epoch 0 (``_update_lr(0)``: its closed form at 0 where it has one), so a
    warm-up can be followed by a decay. The schedulers' own construction steps are undone."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        _check_children("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                f"{len(schedulers)} schedulers, got {len(milestones)}"
            )
        self.optimizer = optimizer
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for sch in self._schedulers:
            _undo_step(sch)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        sch = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            sch._update_lr(0)
        else:
            sch.step()
        self._last_lr = sch.get_last_lr()

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        for sch, saved in zip(self._schedulers, state.pop("_schedulers")):
            sch.load_state_dict(saved)
        self.__dict__.update(state)


def _undo_step(sch: Any) -> None:
    # a nested SequentialLR or ChainedScheduler: undo its children's steps
    if hasattr(sch, "_schedulers"):
        for child in sch._schedulers:
            _undo_step(child)
    elif hasattr(sch, "last_epoch"):
        sch.last_epoch -= 1


class ChainedScheduler(LRScheduler):
    """Steps every scheduler in ``schedulers`` at each step: their (chainable) factors
    multiply."""

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler: expected at least one scheduler, got none")
        self.optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        _check_children("ChainedScheduler", schedulers, self.optimizer)
        self._schedulers = list(schedulers)
        self._last_lr = self._group_lrs()

    def step(self) -> None:  # type: ignore[override]
        for sch in self._schedulers:
            sch.step()
        self._last_lr = self._group_lrs()

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class ReduceLROnPlateau(LRScheduler):
    """Divides the lr when a metric stops improving: after more than ``patience`` epochs without
    an improvement, lr <- max(lr * factor, min_lr) (changes smaller than ``eps`` are skipped),
    then waits ``cooldown`` epochs (bad epochs are not counted meanwhile). An improvement on the
    best value so far means, for mode='min': a < best (1 - threshold) ('rel') or
    a < best - threshold ('abs'); for 'max': a > best (1 + threshold) or a > best + threshold.
    ``step(metrics)`` once per epoch."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        _check(name, "factor", factor, factor < 1.0, "must be < 1")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: {type(optimizer).__name__} is not an Optimizer")
        _check(name, "mode", mode, mode in ("min", "max"), "must be 'min' or 'max'")
        _check(
            name,
            "threshold_mode",
            threshold_mode,
            threshold_mode in ("rel", "abs"),
            "must be 'rel' or 'abs'",
        )
        self.optimizer = optimizer
        # a scalar min_lr also covers param groups added later; a list must match them
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group(name, "min_lr", min_lr, len(optimizer.param_groups))
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self._last_lr = self._group_lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: float, epoch: int | None = None) -> None:  # type: ignore[override]
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._group_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} param "
                    f"groups but min_lr has {len(self.min_lrs)} values (a group "
                    "was added after construction?); set min_lrs to match"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new


__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "InverseTimeLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
