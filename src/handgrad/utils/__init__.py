"""``handgrad.utils``: what PyTorch programs import from ``torch.utils``.

``handgrad.utils.data`` is ``handgrad.data`` itself (the same module object, not a copy), with
torch's submodule paths (``handgrad.utils.data.sampler``, ``.dataset``, ``.dataloader``), so
``from torch.utils.data import DataLoader`` ports by changing the import. The alias is made by
``_alias_data`` once ``handgrad.data`` is imported (importing it from here would be circular:
``nn`` imports ``utils.hooks`` before ``data`` exists).
"""

from __future__ import annotations

import sys
from types import ModuleType

from . import hooks  # noqa: F401

# torch.utils.data's submodules and the handgrad.data modules that hold the same names
_DATA_SUBMODULES = ("dataset", "sampler", "dataloader")


def _alias_data(data: ModuleType) -> None:
    """Make ``handgrad.utils.data`` (and its submodules) the modules of ``handgrad.data``."""
    globals()["data"] = data
    sys.modules[f"{__name__}.data"] = data
    for name in _DATA_SUBMODULES:
        sys.modules[f"{__name__}.data.{name}"] = getattr(data, name)
