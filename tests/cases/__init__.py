"""Parity cases, one or more per primitive, keyed by the primitive's registry name.

Each module ``cases/*.py`` defines ``CASES: dict[str, list[Case]]``; they are merged here, and
tests/engine/test_parity.py runs every case against PyTorch, finite differences and second order.
"""

import importlib
import pkgutil

from .common import Case  # noqa: F401

CASES: dict = {}
for _info in pkgutil.iter_modules(__path__):
    if _info.name == "common":
        continue
    _mod = importlib.import_module(f"{__name__}.{_info.name}")
    for _name, _cases in _mod.CASES.items():
        CASES.setdefault(_name, []).extend(_cases)
