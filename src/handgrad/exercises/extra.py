"""A teacher's own exercises, loaded without touching the library.

``handgrad exercises run|list|template|grade --extra MODULE`` imports ``MODULE`` (a dotted module
name on ``sys.path``, or the path of a ``.py`` file) before it selects exercises. The module
registers its exercises with the same decorator the problem sets use, giving the question text
itself (it is not in ``questions.json``)::

    from handgrad.exercises import exercise
    from handgrad.exercises.base import Result
    from handgrad.exercises.grading import formula_slot

    @exercise("teacher-square-derivative", question="d/dx x^2 at x?", ref="Sheet 1, Q1",
              params=dict(x=3.0), slots=[formula_slot(...)])
    def square(x):
        return Result(2 * x)

``docs/teacher_exercise.py`` is a complete example; ``docs/answers.md`` describes it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_loaded: dict[str, ModuleType] = {}


def load_extra(module: str) -> ModuleType:
    """Import ``module`` (dotted name or ``.py`` path) once; its exercises register on import."""
    if module in _loaded:
        return _loaded[module]
    path = Path(module)
    if module.endswith(".py") or path.is_file():
        if not path.is_file():
            raise OSError(f"no such file: {module}")
        name = f"handgrad_extra_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {module}")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(module)
    _loaded[module] = mod
    return mod
