"""The training loop and evaluation: one small, explicit loop a reader can follow.

The loop of ``fit`` is the one every PyTorch tutorial writes, and nothing more:

    for epoch in range(start, epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()                       # once per epoch, PyTorch's convention
        with no_grad(): evaluate(model, val_loader)   # model.eval(): dropout off, BN frozen
        save_checkpoint(...)                   # atomically, with every random state

The per-epoch loss is the mean over examples of the per-batch mean loss weighted by batch size, so
it is the dataset mean whatever the batch sizes (the loss must use ``reduction='mean'``, the
default). Training accuracy is measured on the fly, on the outputs of the training steps (while the
weights move), as PyTorch's examples do; validation accuracy is measured after the epoch.

Resuming: ``checkpoint_dir`` and ``resume=True``; see ``handgrad.train.checkpoint``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics as _metrics
from .._tensor import Tensor
from ..autograd import no_grad
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint

# ---- history ---------------------------------------------------------------------------------


class History:
    """Per-epoch records (dicts: epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr,
    time, samples, samples_per_s, ...). ``history['val_accuracy']`` is the list over epochs."""

    def __init__(self, records: Iterable[dict] = ()) -> None:
        self.records: list[dict] = [dict(r) for r in records]

    def append(self, record: dict) -> None:
        self.records.append(dict(record))

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def last(self) -> dict:
        return self.records[-1] if self.records else {}

    def to_dict(self) -> dict:
        return {"epochs": [dict(r) for r in self.records]}

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, last={self.last})"


# ---- progress --------------------------------------------------------------------------------


class _Progress:
    """A progress bar over the samples of one pass: tqdm if it is installed (imported only here,
    it is an optional extra), otherwise a plain line at each quarter of the pass. The rate shown
    is samples per second."""

    def __init__(self, total: int | None, desc: str, enabled: bool) -> None:
        self.enabled, self.total, self.desc = enabled, total, desc
        self.count, self.start, self.bar = 0, time.perf_counter(), None
        self.next_print = (total or 0) / 4
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        # disable=None: no bar when stderr is not a terminal (logs, CI); the epoch lines remain.
        self.bar = tqdm(
            total=total,
            desc=desc,
            unit="samples",
            unit_scale=True,
            leave=False,
            dynamic_ncols=True,
            disable=None,
        )

    def update(self, n: int, loss: float) -> None:
        self.count += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif self.total and self.count >= self.next_print and self.count < self.total:
            rate = self.count / max(time.perf_counter() - self.start, 1e-9)
            print(
                f"  {self.desc}: {self.count}/{self.total} samples, {rate:,.0f} samples/s, "
                f"loss {loss:.4f}",
                flush=True,
            )
            self.next_print += self.total / 4

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    @staticmethod
    def write(line: str) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            print(line, flush=True)
        else:
            tqdm.write(line, file=sys.stdout)


# ---- one pass --------------------------------------------------------------------------------


def _split_batch(batch: Any) -> tuple[Tensor, Tensor]:
    if isinstance(batch, dict):
        x = batch.get("input", batch.get("image"))
        y = batch.get("target", batch.get("label"))
    elif isinstance(batch, (tuple, list)) and len(batch) == 2:
        x, y = batch
    else:
        raise TypeError(
            "fit: a batch must be (input, target) or a dict with 'input' and "
            f"'target' keys, got {type(batch).__name__}"
        )
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(x))
    if not isinstance(y, Tensor):
        y = Tensor._wrap(np.asarray(y))
    return x, y


def _dataset_size(loader: Any) -> int | None:
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return None


def _topk_names(names: Sequence[str]) -> list[int]:
    ks = []
    for name in names:
        if name in ("loss", "accuracy"):
            continue
        if name.startswith("top") and name[3:].isdigit() and int(name[3:]) >= 1:
            ks.append(int(name[3:]))
        else:
            raise ValueError(
                f"metrics: unknown metric {name!r}; use 'loss', 'accuracy' or "
                "'topK' (e.g. 'top5', top-K accuracy)"
            )
    return ks


class _Tally:
    """Running sums of a pass: examples, loss x batch size, correct at each k."""

    def __init__(self, ks: Sequence[int]) -> None:
        self.ks = sorted({1, *ks})
        self.n, self.loss_sum = 0, 0.0
        self.correct = dict.fromkeys(self.ks, 0)

    def add(self, output: Tensor, target: Tensor, loss: float | None) -> None:
        scores, y = output.detach().numpy(), target.detach().numpy()
        b = len(y)
        self.n += b
        if loss is not None:
            self.loss_sum += loss * b
        if scores.ndim == 2 and y.ndim == 1 and y.dtype.kind in "iu":
            if self.ks == [1]:  # the common case, without ranking every class
                self.correct[1] += int((scores.argmax(1) == y).sum())
            else:
                r = _metrics.ranks(scores, y)
                for k in self.ks:
                    self.correct[k] += int((r < k).sum())

    def summary(self, prefix: str, names: Sequence[str]) -> dict:
        out = {}
        n = max(self.n, 1)
        if "loss" in names:
            out[f"{prefix}loss"] = self.loss_sum / n
        if "accuracy" in names:
            out[f"{prefix}accuracy"] = self.correct[1] / n
        for k in self.ks:
            if f"top{k}" in names:
                out[f"{prefix}top{k}"] = self.correct[k] / n
        return out


def evaluate(
    model: Any,
    loader: Iterable,
    loss_fn: Callable | None = None,
    metrics: Sequence[str] = ("loss", "accuracy"),
    progress: bool = False,
) -> dict:
    """Loss and accuracy of ``model`` over ``loader``, in evaluation mode and without recording a
    graph; the model's previous mode is restored. Returns ``{'loss', 'accuracy', 'topK'...,
    'samples', 'time', 'samples_per_s'}`` (``loss`` only with a ``loss_fn``)."""
    names = [m for m in metrics if m != "loss" or loss_fn is not None]
    tally = _Tally(_topk_names(names))
    was_training = getattr(model, "training", False)
    model.eval()
    bar = _Progress(_dataset_size(loader), "eval", progress)
    start = time.perf_counter()
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                out = model(x)
                loss = loss_fn(out, y).item() if loss_fn is not None else None
                tally.add(out, y, loss)
                bar.update(len(y), loss if loss is not None else float("nan"))
    finally:
        bar.close()
        model.train(was_training)
    elapsed = time.perf_counter() - start
    result = tally.summary("", names)
    result.update(samples=tally.n, time=elapsed, samples_per_s=tally.n / max(elapsed, 1e-9))
    return result


def predict(model: Any, loader: Iterable, keep_inputs: bool = False) -> dict:
    """Scores of ``model`` on every example of ``loader`` (eval mode, no graph): a dict of NumPy
    arrays ``output`` (N, C), ``target`` (N,) and, with ``keep_inputs``, ``input``."""
    outputs, targets, inputs = [], [], []
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                outputs.append(np.array(model(x).numpy()))
                targets.append(np.array(y.numpy()))
                if keep_inputs:
                    inputs.append(np.array(x.numpy()))
    finally:
        model.train(was_training)
    result = {"output": np.concatenate(outputs), "target": np.concatenate(targets)}
    if keep_inputs:
        result["input"] = np.concatenate(inputs)
    return result


def train_one_epoch(
    model: Any,
    loss_fn: Callable,
    optimizer: Any,
    loader: Iterable,
    metrics: Sequence[str] = ("loss", "accuracy"),
    progress: bool = False,
    desc: str = "train",
) -> dict:
    """One pass of the training loop over ``loader``; returns its loss, accuracy, time, samples
    and samples/s."""
    tally = _Tally(_topk_names(metrics))
    model.train()
    bar = _Progress(_dataset_size(loader), desc, progress)
    start = time.perf_counter()
    try:
        for batch in loader:
            x, y = _split_batch(batch)
            optimizer.zero_grad()
            output = model(x)
            loss = loss_fn(output, y)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"fit: the training loss became {value} after {tally.n} samples; lower the "
                    "learning rate (or look for log(0) / division by zero in the model)"
                )
            tally.add(output, y, value)
            bar.update(len(y), value)
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    result = tally.summary("", metrics)
    result.update(samples=tally.n, time=elapsed, samples_per_s=tally.n / max(elapsed, 1e-9))
    return result


# ---- the loop --------------------------------------------------------------------------------


def _fmt(record: dict) -> str:
    parts = [f"epoch {record['epoch']}"]
    for prefix, label in (("train_", "train"), ("val_", "val")):
        fields = [
            f"{k[len(prefix) :]} {v:.4f}"
            if k.endswith("loss")
            else f"{k[len(prefix) :]} {100 * v:.2f}%"
            for k, v in record.items()
            if k.startswith(prefix) and k != "val_time" and isinstance(v, float)
        ]
        if fields:
            parts.append(f"{label}: " + ", ".join(fields))
    parts.append(f"{record['time']:.1f} s, {record['samples_per_s']:,.0f} samples/s")
    return " | ".join(parts)


def _current_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else None


def fit(
    model: Any,
    loss_fn: Callable,
    optimizer: Any,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    epochs: int = 1,
    scheduler: Any = None,
    callbacks: Sequence[Callable[[History], Any]] = (),
    metrics: Sequence[str] = ("loss", "accuracy"),
    progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    meta: dict | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs (in total, counting resumed ones) and return the
    History.

    - ``metrics``: ``'loss'``, ``'accuracy'`` (top-1) and ``'topK'`` (top-K accuracy), measured on
      the training pass and, with a ``val_loader``, on the validation set after each epoch.
    - ``scheduler``: stepped once per epoch; ``ReduceLROnPlateau`` receives the validation loss
      (the training loss without a validation set).
    - ``callbacks``: called as ``cb(history)`` after each epoch (and its checkpoint); a callback
      returning ``True`` stops training (early stopping).
    - ``progress``: a tqdm bar per pass (samples/s in the bar) and one line per epoch;
      ``False`` prints nothing (quiet mode).
    - ``checkpoint_dir``: after each epoch, ``checkpoint.npz`` there (``save_checkpoint``);
      ``resume=True`` continues from it, bit-identically (module docstring).
    """
    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    metrics = tuple(metrics)
    _topk_names(metrics)
    loaders = [train_loader] + ([val_loader] if val_loader is not None else [])
    history, start = History(), 0
    ckpt = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if resume:
        if ckpt is None:
            raise ValueError("fit: resume=True needs a checkpoint_dir")
        state = load_checkpoint(ckpt, model, optimizer, scheduler, loaders)
        start = int(state["epoch"])
        history = History(state["history"]["epochs"])
        if progress:
            _Progress.write(f"resumed from {ckpt} after epoch {start}")

    for epoch in range(start, epochs):
        desc = f"epoch {epoch + 1}/{epochs}"
        lr = _current_lr(optimizer)
        train = train_one_epoch(model, loss_fn, optimizer, train_loader, metrics, progress, desc)
        record: dict[str, Any] = {"epoch": epoch + 1}
        record.update(
            {
                f"train_{k}": v
                for k, v in train.items()
                if k not in ("samples", "time", "samples_per_s")
            }
        )
        record.update(
            time=train["time"],
            samples=train["samples"],
            samples_per_s=train["samples_per_s"],
            lr=lr,
        )
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metrics)
            record.update(
                {
                    f"val_{k}": v
                    for k, v in val.items()
                    if k not in ("samples", "time", "samples_per_s")
                }
            )
            record["val_time"] = val["time"]
        if scheduler is not None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(record.get("val_loss", record.get("train_loss")))
            else:
                scheduler.step()
        history.append(record)
        if progress:
            _Progress.write(_fmt(record))
        if ckpt is not None:
            save_checkpoint(ckpt, model, optimizer, scheduler, epoch + 1, loaders, history, meta)
        stop = [bool(cb(history)) for cb in callbacks]  # a list, not any(): call every callback
        if any(stop):
            break
    return history


__all__ = ["fit", "evaluate", "predict", "train_one_epoch", "History"]
