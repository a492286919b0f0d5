"""Checkpoints that resume bit-identically, and the random states they must hold.

A checkpoint is written at the end of an epoch and holds the model's and optimizer's state dicts,
the scheduler's, the epoch, the history, and the state of every random generator the next epoch
draws from: handgrad's global generator (dropout, initialisation, loaders without a generator of
their own), the loaders' own generators (shuffling), NumPy's and Python's global ones (transforms
that use them). Restoring all of them makes the epochs after a resume draw the same numbers and
perform the same floating-point operations as an uninterrupted run, so the final weights are
bit-identical (tests/train/test_train.py).

The write is atomic: ``hg.save`` writes a temporary file in the same folder and renames it over
the old checkpoint, so a crash leaves the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import random as _hgrandom
from ..serialization import load, save

CHECKPOINT_NAME = "checkpoint.npz"
_CHECKPOINT_FORMAT = "handgrad.train/1"


# ---- reproducibility -------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed every generator a training run may draw from: handgrad's global generator, NumPy's
    legacy global generator and Python's ``random``."""
    _hgrandom.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _loader_generators(loader: Any) -> list:
    """The distinct generators (objects with get_state/set_state) a loader shuffles with, in a
    fixed discovery order: the loader's own, its sampler's, its batch sampler's sampler's."""
    found: list = []
    candidates = [loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)]
    batch_sampler = candidates[-1]
    if batch_sampler is not None:
        candidates.append(getattr(batch_sampler, "sampler", None))
    for obj in candidates:
        g = getattr(obj, "generator", None) if obj is not None else None
        if g is not None and hasattr(g, "get_state") and all(g is not f for f in found):
            found.append(g)
    return found


def rng_state(loaders: Iterable[Any] = ()) -> dict:
    """Every random state the next epoch depends on (see the module docstring)."""
    return {
        "handgrad": _hgrandom.default_generator.get_state(),
        "loaders": [[g.get_state() for g in _loader_generators(ld)] for ld in loaders],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_state(state: dict, loaders: Iterable[Any] = ()) -> None:
    _hgrandom.default_generator.set_state(dict(state["handgrad"]))
    for loader, saved in zip(loaders, state["loaders"]):
        gens = _loader_generators(loader)
        if len(gens) != len(saved):
            raise ValueError(
                f"resume: the checkpoint holds {len(saved)} generator state(s) for a "
                f"loader that now has {len(gens)}"
            )
        for g, s in zip(gens, saved):
            g.set_state(dict(s))
    np.random.set_state(tuple(state["numpy"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


# ---- checkpoints -----------------------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    epoch: int = 0,
    loaders: Sequence[Any] = (),
    history: Any = None,
    meta: dict | None = None,
) -> Path:
    """Write everything a resumed run needs to ``path`` atomically (``hg.save`` writes a
    temporary file and renames it, so a crash never leaves half a checkpoint). ``meta`` is free
    JSON-like information (the command line stores the model name and data set there)."""
    state = {
        "format": _CHECKPOINT_FORMAT,
        "epoch": int(epoch),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": rng_state(loaders),
        "history": history.to_dict() if history is not None else {"epochs": []},
        "meta": dict(meta or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(state, path)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by ``save_checkpoint``, with a clear error for a missing file, a
    corrupt one, or an ``.npz`` that is not a training checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = load(path)
    except Exception as e:  # noqa: BLE001 - zipfile, ValueError, OSError, KeyError, ...: unreadable
        raise ValueError(
            f"checkpoint {path} is corrupt or not a handgrad checkpoint ({type(e).__name__}: {e})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a handgrad training checkpoint")
    return state


def load_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    loaders: Sequence[Any] = (),
    restore_rng: bool = True,
) -> dict:
    """Restore a checkpoint into ``model`` (and ``optimizer``, ``scheduler``, the random
    generators). Returns the checkpoint dict (``epoch``, ``history``, ``meta``, ...). A model of
    another architecture raises ``load_state_dict``'s error (missing / unexpected keys, shapes)
    before anything else is changed."""
    state = read_checkpoint(path)
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        set_rng_state(state["rng"], loaders)
    return state


__all__ = [
    "seed_everything",
    "rng_state",
    "set_rng_state",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
    "CHECKPOINT_NAME",
]
