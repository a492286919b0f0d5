"""``handgrad.multiprocessing``: the standard library's ``multiprocessing``, as
``torch.multiprocessing`` offers it, for tensors in shared memory (``Tensor.share_memory_``,
``Module.share_memory``): processes started here, forked or spawned, update the same weights.

    import handgrad.multiprocessing as mp
    model.share_memory()
    procs = [mp.Process(target=train, args=(rank, model)) for rank in range(2)]

Everything of ``multiprocessing`` is here under its name (``Process``, ``Queue``, ``Pool``,
``get_context``, ``set_start_method``, ...), plus torch's ``spawn`` / ``start_processes`` and the
sharing-strategy functions (one strategy here: POSIX shared memory segments, which torch calls
``file_system``).
"""

from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403

from .._shared_memory import is_shared, share_memory_  # noqa: F401
from .spawn import (  # noqa: F401
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

__all__ = list(_mp.__all__) + [
    "ProcessContext",
    "ProcessExitedException",
    "ProcessRaisedException",
    "spawn",
    "start_processes",
    "get_sharing_strategy",
    "set_sharing_strategy",
    "get_all_sharing_strategies",
]

_STRATEGIES = {"file_system"}


def get_all_sharing_strategies() -> set:
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    return "file_system"


def set_sharing_strategy(new_strategy: str) -> None:
    """Accepted for torch's names; handgrad always shares through named segments."""
    if new_strategy not in ("file_system", "file_descriptor"):
        raise ValueError(
            f"set_sharing_strategy: unknown strategy {new_strategy!r}; torch's are "
            f"'file_system' and 'file_descriptor'"
        )
