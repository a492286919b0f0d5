"""Stochastic weight averaging and exponential moving averages of a model's weights, as
``torch.optim.swa_utils``: ``AveragedModel``, ``SWALR``, ``update_bn`` and the averaging
functions.

SWA (Izmailov et al. 2018, UAI) averages the weights an SGD run visits late in training (with
a constant or cyclic learning rate, which ``SWALR`` anneals to), then recomputes the BatchNorm
statistics for the averaged weights (``update_bn``), since averaging weights does not average
the activations' statistics. An EMA (``get_ema_multi_avg_fn``) weights recent models more.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from .lr_scheduler import LRScheduler
from .optimizer import Optimizer, _buffer


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In place on lists of tensors: ema <- ema + (1 - decay)(current - ema) (torch's lerp)."""

    @no_grad()
    def ema_update(ema_params: list, current_params: list, num_averaged: Any) -> None:
        for ema, current in zip(ema_params, current_params):
            if ema.dtype.kind == "f":
                ema.lerp_(current, 1 - decay)
            else:
                ema.copy_(ema * decay + current * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In place on lists of tensors: avg <- avg + (current - avg) / (n + 1) (the running mean
    of the n + 1 models seen)."""

    @no_grad()
    def swa_update(averaged_params: list, current_params: list, num_averaged: Any) -> None:
        for avg, current in zip(averaged_params, current_params):
            avg.copy_(avg + (current - avg) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """Out of place, one tensor: decay * ema + (1 - decay) * current."""

    @no_grad()
    def ema_update(ema_param: Any, current_param: Any, num_averaged: Any) -> Any:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """Out of place, one tensor: avg + (current - avg) / (n + 1)."""

    @no_grad()
    def swa_update(averaged_param: Any, current_param: Any, num_averaged: Any) -> Any:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    r"""A copy of ``model`` whose weights are the average of the models passed to
    ``update_parameters`` (SWA by default; an EMA with ``multi_avg_fn=get_ema_multi_avg_fn()``)::

        first call:   w_avg <- w
        later calls:  w_avg <- avg_fn(w_avg, w, n)        (n models averaged so far)
                      default: w_avg + (w - w_avg) / (n + 1)

    The copy is ``.module``; ``n_averaged`` is a buffer (so the state dict holds it, before the
    ``module.`` keys, as torch's). Buffers (BatchNorm statistics) are copied from the model at
    each update unless ``use_buffers=True`` averages them too. ``device`` is accepted for torch's
    signature (handgrad has one device).
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError(
                "AveragedModel: only one of avg_fn and multi_avg_fn should be provided"
            )
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", _buffer(np.zeros((), np.int64)))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    @no_grad()
    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        if len(mine) != len(theirs):
            raise ValueError(
                f"AveragedModel.update_parameters: the model has {len(theirs)} "
                f"tensors to average, the averaged copy {len(mine)}"
            )
        n = int(self.n_averaged.item())
        averaged = [p.detach() for p in mine]
        current = [p.detach() for p in theirs]
        if n == 0:
            for avg, cur in zip(averaged, current):
                avg.copy_(cur)
        elif self.avg_fn is not None:
            for avg, cur in zip(averaged, current):
                avg.copy_(self.avg_fn(avg, cur, self.n_averaged))
        else:
            (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, self.n_averaged)
        if not self.use_buffers:
            # the statistics are not averaged: keep them those of the source model
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                b_avg.detach().copy_(b_model.detach())
        self.n_averaged.add_(1)


@no_grad()
def update_bn(loader: Iterable, model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running statistics as the plain average over one pass of
    ``loader`` (batches are tensors, or lists/tuples whose first item is the input), in
    training mode; the momenta and the training flag are restored afterwards."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None  # a cumulative average over the pass
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneals each group's lr to ``swa_lr`` over ``anneal_epochs`` steps, then holds it::

        t = min(1, step / max(1, anneal_epochs))
        alpha = (1 - cos(pi t)) / 2   ("cos")   or   t   ("linear")
        lr = alpha swa_lr + (1 - alpha) lr_start

    where lr_start is recovered from the previous step's lr and alpha (so the schedule composes
    with an lr that was changed in between, as torch's). ``swa_lr`` may be one value or one per
    group.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        groups = optimizer.param_groups
        swa_lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(swa_lrs) != len(groups):
            raise ValueError(
                f"SWALR: swa_lr must have one value per param group ("
                f"{len(groups)}), got {len(swa_lrs)}"
            )
        for value, group in zip(swa_lrs, groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                "SWALR: anneal_strategy must be one of 'cos' or 'linear', "
                f"instead got {anneal_strategy!r}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(
                f"SWALR: anneal_epochs must be equal or greater than 0, got {anneal_epochs!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [
            self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
            for g in self.optimizer.param_groups
        ]
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [
            g["swa_lr"] * alpha + lr * (1 - alpha)
            for g, lr in zip(self.optimizer.param_groups, prev_lrs)
        ]


__all__ = [
    "AveragedModel",
    "SWALR",
    "update_bn",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]
