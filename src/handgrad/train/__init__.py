"""``handgrad.train``: fit a model, evaluate it, checkpoint and resume it.

- ``loop``: ``fit``, ``train_one_epoch``, ``evaluate``, ``predict``, ``History``;
- ``checkpoint``: atomic checkpoints with every random state, so a resumed run is bit-identical;
- ``job``: the whole job behind ``handgrad train`` and ``make demo`` (data by name, model by name,
  optimizer by name, then the checkpoint, a metrics JSON and the plots in one folder).

The ``handgrad train`` command (parsing only) is ``handgrad.commands.train``.
"""

from .checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from .loop import History, evaluate, fit, predict, train_one_epoch

__all__ = [
    "fit",
    "evaluate",
    "predict",
    "train_one_epoch",
    "History",
    "seed_everything",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "rng_state",
    "set_rng_state",
    "CHECKPOINT_NAME",
]
