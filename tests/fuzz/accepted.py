"""The accepted differences from PyTorch, as predicates the fuzzer's classifier applies to a
shrunk mismatch. Each entry is documented in ``docs/differences.md`` (same name) and pinned by a
test in ``tests/engine/test_differences.py``.

``match(op, params, x, what, handgrad, torch, bad)`` returns the name of the first difference
that explains the mismatch, or None. ``what`` is 'forward', 'grad', 'grad2' or 'error' (handgrad
refused; ``handgrad`` is then the error message); ``bad`` marks the mismatching elements and
``g`` is the upstream gradient of the shrunk step.
"""

from __future__ import annotations

import numpy as np

ACCEPTED = []


def accepted(fn):
    ACCEPTED.append(fn)
    return fn


def match(op, params, x, what, h, t, bad, g=None):
    for fn in ACCEPTED:
        if fn(op, params, x, what, h, t, bad, g):
            return fn.__name__
    return None


@accepted
def nonfinite_either_way(op, params, x, what, h, t, bad, g=None):
    """Where both results are non-finite, NaN and +-inf are not told apart: which one an
    inf * 0 or inf - inf inside a formula produces depends on the order of its terms."""
    if what == "error" or isinstance(bad, str):
        return False
    with np.errstate(invalid="ignore"):
        return bool((~np.isfinite(h[bad]) & ~np.isfinite(t[bad])).all())


@accepted
def empty_batch_output_size(op, params, x, what, h, t, bad, g=None):
    """With a batch of 0, torch skips the output-size check of conv_transpose and returns an
    empty tensor with an empty spatial dim; handgrad raises the error torch raises for any other
    batch size."""
    return (
        what == "error"
        and op.startswith("F.conv_transpose")
        and x.shape[:1] == (0,)
        and "output would be empty" in str(h)
    )


@accepted
def conv_zero_in_channels(op, params, x, what, h, t, bad, g=None):
    """A convolution over 0 input channels: torch returns an empty (N, 0, ...) tensor, ignoring
    the weight's output channels and the bias; handgrad returns the empty sum, that is the bias
    broadcast to (N, out_channels, ...)."""
    return op.startswith("F.conv") and x.ndim >= 3 and x.shape[1] == 0


@accepted
def nan_input_gradient(op, params, x, what, h, t, bad, g=None):
    """The gradient at an element whose input is NaN: the value is NaN in both, but the
    derivative there is undefined and torch's own kernels disagree (its vectorised and scalar
    paths, float32 and float64, give g, 0 or NaN for the same function); handgrad follows one
    rule per function."""
    if what not in ("grad", "grad2") or isinstance(bad, str):
        return False
    nan = np.zeros(bad.shape, bool)
    for a in [x, *params.values()]:  # the input or an operand (a target) is NaN there
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            try:
                nan |= np.broadcast_to(np.isnan(a), bad.shape)
            except ValueError:
                pass
    return bool(nan[bad].all())


@accepted
def torch_multiplies_by_mask(op, params, x, what, h, t, bad, g=None):
    """An infinite or NaN upstream gradient meets a zero derivative: handgrad selects (exactly
    0), where some torch kernels multiply by a 0/1 mask (0 * inf = NaN), e.g. nan_to_num."""
    if what not in ("grad", "grad2") or isinstance(bad, str) or g is None:
        return False
    with np.errstate(invalid="ignore"):
        return bool(not np.isfinite(g).all() and (h[bad] == 0).all() and np.isnan(t[bad]).all())


@accepted
def limit_at_infinity(op, params, x, what, h, t, bad, g=None):
    """At an infinite input torch's formula gives inf/inf or inf - inf = NaN where handgrad's
    (a stable form, e.g. soft_margin_loss through softplus) gives the finite limit."""
    if what == "error" or isinstance(bad, str) or x.dtype.kind != "f":
        return False
    try:
        inf = np.broadcast_to(np.isinf(x), bad.shape)
    except ValueError:
        return False
    with np.errstate(invalid="ignore"):
        return bool(inf[bad].all() and np.isfinite(h[bad]).all() and np.isnan(t[bad]).all())


@accepted
def zero_gradient_ops_are_constants(op, params, x, what, h, t, bad, g=None):
    """trunc, floor, ceil, round and sign return constants in handgrad (no graph), where torch
    records them with a zero gradient; a 0/0 further down (sqrt at 0 times a zero gradient)
    then gives NaN in torch and no gradient at all in handgrad. Applied by the fuzzer to whole
    programs that contain such an op (``runner._whole_program``)."""
    return False  # a whole-program rule: see runner._whole_program


@accepted
def torch_overflows(op, params, x, what, h, t, bad, g=None):
    """torch gives inf or NaN where handgrad's result is finite, with inputs in overflow
    territory (a magnitude above sqrt of the largest float, whose square overflows): handgrad's
    form (np.hypot, a float64 reduction, a stable softplus) does not overflow there. The fuzzer
    applies the same rule to any finite input (``runner.classify``)."""
    if what == "error" or isinstance(bad, str):
        return False
    big = np.sqrt(np.finfo(x.dtype).max) if x.dtype.kind == "f" else np.inf
    arrays = [a for a in [x, *params.values()] if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    with np.errstate(invalid="ignore"):
        huge = any((np.abs(a[np.isfinite(a)]) > big).any() for a in arrays)
        return bool(huge and (~np.isfinite(t[bad]) & np.isfinite(h[bad])).all())


@accepted
def atan2_at_origin(op, params, x, what, h, t, bad, g=None):
    """atan2's derivatives y / (x^2 + y^2) and -x / (x^2 + y^2) near (0, 0), where x^2 + y^2
    underflows: the function is discontinuous at the origin and both libraries return an
    arbitrary value (0, inf or NaN) there."""
    if op != "atan2" or what not in ("grad", "grad2") or isinstance(bad, str):
        return False
    tiny = np.sqrt(np.finfo(x.dtype).tiny)
    try:
        small = np.broadcast_to(np.abs(x) < tiny, bad.shape) & np.broadcast_to(
            np.abs(params["w"]) < tiny, bad.shape
        )
    except ValueError:
        return False
    return bool(small[bad].all())


@accepted
def expm1_gradient_from_its_output(op, params, x, what, h, t, bad, g=None):
    """expm1's derivative e^x: torch computes it as out + 1, which cancels for x < 0 (0 below
    -37 in float64 where e^x is 1e-16 or less, a relative error 1e-4 at -30); handgrad computes
    e^x. Matches where torch's value is handgrad's with e^x replaced by (expm1(x) + 1)."""
    if op != "expm1" or what not in ("grad", "grad2") or isinstance(bad, str):
        return False
    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        try:
            xb = np.broadcast_to(x, bad.shape)
        except ValueError:
            return False
        e = np.exp(xb.astype(np.float64))
        r = (np.expm1(xb) + 1).astype(np.float64)  # torch's e^x, rounded in x's dtype
        torch_form = h.astype(np.float64) * (r / e)
        ok = (np.abs(t - torch_form) <= 1e-6 * np.abs(torch_form)) & (r != e) & (xb < 0)
    return bool(ok[bad].all())


@accepted
def softshrink_zero_sign(op, params, x, what, h, t, bad, g=None):
    """softshrink's zeros (|x| <= lambda): torch gives -0.0 for a negative x on its scalar path
    (tensors of fewer than 16 float32 elements, or the tail) and +0.0 on its vectorised one;
    handgrad gives the scalar path's -0.0 everywhere. Only a later 1 / x tells them apart."""
    if op != "F.softshrink" or what != "forward" or isinstance(bad, str):
        return False
    with np.errstate(invalid="ignore"):
        return bool(((h[bad] == 0) & (t[bad] == 0)).all())
