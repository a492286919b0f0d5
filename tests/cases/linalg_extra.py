"""Parity cases for inv, det and solve, on well-conditioned (diagonally dominated) matrices."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .common import Case, rng


def _square(data, extra=0):
    r = rng(data)
    n = data.draw(st.integers(1, 4), label="n")
    batch = data.draw(st.sampled_from([(), (2,), (2, 1)]), label="batch")
    a = r.standard_normal(batch + (n, n)) * 0.5 + 2.0 * np.eye(n)
    arrays = [a]
    if extra:
        k = data.draw(st.integers(1, 3), label="k")
        arrays.append(r.standard_normal(batch + (n, k)))
    return arrays, {}


CASES = {
    "inv": [Case(lambda lib, a: lib.linalg.inv(a), _square)],
    "det": [Case(lambda lib, a: lib.linalg.det(a), _square)],
    "solve": [Case(lambda lib, a, b: lib.linalg.solve(a, b), lambda d: _square(d, 1))],
}
