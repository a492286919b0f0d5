"""``handgrad.utils.data`` is ``handgrad.data`` itself (the same module object, not a copy), as
PyTorch programs import it: ``from torch.utils.data import DataLoader`` ports by changing the
import. torch's submodule paths (``.dataset``, ``.sampler``, ``.dataloader``) name the modules
of ``handgrad.data`` that hold the same classes.

Importing this file replaces it in ``sys.modules`` by ``handgrad.data`` (the import system then
returns and binds that module), after registering the submodule paths, which would otherwise
load the same files a second time under new names.
"""

import sys

from .. import data as _data

for _name in ("dataset", "sampler", "dataloader"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_data, _name)
sys.modules[__name__] = _data
