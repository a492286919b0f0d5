"""The accepted differences from PyTorch, as predicates the fuzzer's classifier applies to a
shrunk mismatch. Each entry is documented in ``docs/differences.md`` (same name) and pinned by a
test in ``tests/test_differences.py``.

``match(op, params, x, what, handgrad, torch, bad)`` returns the name of the first difference
that explains the mismatch, or None. ``what`` is 'forward', 'grad', 'grad2' or 'error' (handgrad
refused; ``handgrad`` is then the error message); ``bad`` marks the mismatching elements.
"""

from __future__ import annotations

import numpy as np

ACCEPTED = []


def accepted(fn):
    ACCEPTED.append(fn)
    return fn


def match(op, params, x, what, h, t, bad):
    for fn in ACCEPTED:
        if fn(op, params, x, what, h, t, bad):
            return fn.__name__
    return None


@accepted
def nonfinite_either_way(op, params, x, what, h, t, bad):
    """Where both results are non-finite, NaN and +-inf are not told apart: which one an
    inf * 0 or inf - inf inside a formula produces depends on the order of its terms."""
    if what == "error" or isinstance(bad, str):
        return False
    with np.errstate(invalid="ignore"):
        return bool((~np.isfinite(h[bad]) & ~np.isfinite(t[bad])).all())


@accepted
def empty_batch_output_size(op, params, x, what, h, t, bad):
    """With a batch of 0, torch skips the output-size check of conv_transpose and returns an
    empty tensor with an empty spatial dim; handgrad raises the error torch raises for any other
    batch size."""
    return what == "error" and op.startswith("F.conv_transpose") and x.shape[:1] == (0,) \
        and "output would be empty" in str(h)


@accepted
def conv_zero_in_channels(op, params, x, what, h, t, bad):
    """A convolution over 0 input channels: torch returns an empty (N, 0, ...) tensor, ignoring
    the weight's output channels and the bias; handgrad returns the empty sum, that is the bias
    broadcast to (N, out_channels, ...)."""
    return op.startswith("F.conv") and x.ndim >= 3 and x.shape[1] == 0


@accepted
def nan_input_gradient(op, params, x, what, h, t, bad):
    """The gradient at an element whose input is NaN: the value is NaN in both, but the
    derivative there is undefined and torch's own kernels disagree (its vectorised and scalar
    paths, float32 and float64, give g, 0 or NaN for the same function); handgrad follows one
    rule per function."""
    if what not in ("grad", "grad2") or isinstance(bad, str) or x.dtype.kind != "f":
        return False
    try:
        nan = np.broadcast_to(np.isnan(x), bad.shape)
    except ValueError:
        return False
    return bool(nan[bad].all())
