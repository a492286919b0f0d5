"""The accepted differences from PyTorch (``docs/differences.md``), as predicates the fuzzer's
classifier applies to a shrunk mismatch: ``match(op, params, x, what, handgrad, torch, bad)``
returns the difference's name or None."""

from __future__ import annotations

import numpy as np

ACCEPTED = []


def accepted(fn):
    ACCEPTED.append(fn)
    return fn


def match(op, params, x, what, h, t, bad):
    for fn in ACCEPTED:
        if fn(op, params, x, what, h, t, bad):
            return fn.__doc__.strip().splitlines()[0]
    return None
