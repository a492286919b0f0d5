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
def conv_zero_in_channels(op, params, x, what, h, t, bad, g=None):
    """A convolution over 0 input channels: torch returns an empty (N, 0, ...) tensor, ignoring
    the weight's output channels and the bias; handgrad returns the empty sum, that is the bias
    broadcast to (N, out_channels, ...)."""
    return op.startswith("F.conv") and x.ndim >= 3 and x.shape[1] == 0


@accepted
def conv_weight_grad_skips_padding(op, params, x, what, h, t, bad, g=None):
    """A convolution's weight gradient when the input or the upstream gradient holds inf or NaN:
    handgrad sums over the input positions only, never over the padding, as torch's float32
    oneDNN kernel does; torch's other kernels (float64, and float32 with one input and one
    output channel) multiply the padding's zeros (0 * inf = NaN). In a second derivative the
    direction u at the input (an inf from sqrt's gradient at 0 before it: fuzz seed 1711444721)
    meets the padding the same way."""
    if not op.startswith("F.conv") or what not in ("grad", "grad2") or isinstance(bad, str):
        return False
    u = params.get("u")
    nonfinite = (
        not np.isfinite(x).all()
        or (g is not None and not np.isfinite(g).all())
        or (isinstance(u, np.ndarray) and not np.isfinite(u).all())
    )
    with np.errstate(invalid="ignore"):
        return bool(nonfinite and np.isnan(t[bad]).all() and np.isfinite(h[bad]).all())


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
def torch_zero_second_derivative_meets_nonfinite(op, params, x, what, h, t, bad, g=None):
    """A second derivative of a whole program through a piecewise-linear step (relu, threshold,
    abs, a max or topk selection, l1_loss, ...): its own second derivative is 0, but torch's
    double backward forms that 0 as a tensor (threshold_backward's derivative by its input is
    zeros_like) and sends it back through the steps before, where it meets an inf or NaN
    (a linear layer's inf weight, x - mean of a row holding NaN): 0 * inf = NaN. handgrad's
    selecting backward has no such edge. ``params['frozen']`` is torch's own result with those
    steps' backwards made constants in their inputs (``runner._FrozenBackward``: the exact
    derivative of a piecewise-linear step); accepted where torch's value is non-finite,
    handgrad's finite and equal to that one (fuzz seed 493493940: diagonal, linear with an inf
    weight, relu, relu: torch NaN, frozen torch and handgrad -0.99757568). Where handgrad's
    value is an inf (x^2.5 at inf before leaky_relu, fuzz seed 754061838), torch's must be NaN
    and the frozen run's the same inf; at least one element finite. Steps over an empty input
    are frozen too (no elements: a zero second derivative; fuzz seed 130558623)."""
    if op != "<program>" or what != "grad2" or isinstance(bad, str):
        return False
    ref = params.get("frozen")
    if not isinstance(ref, np.ndarray) or ref.shape != bad.shape or h.shape != bad.shape:
        return False
    rtol = 1e-2 if x.dtype == np.float32 else 5e-7
    with np.errstate(invalid="ignore", over="ignore"):
        h64, r64 = h.astype(np.float64), ref.astype(np.float64)
        same = np.isfinite(r64) & (np.abs(h64 - r64) <= rtol * np.abs(r64) + 1e-300)
        same &= np.isfinite(h64) & ~np.isfinite(t)
        same |= np.isinf(r64) & (h64 == r64) & np.isnan(t)
        return bool(same[bad].all() and np.isfinite(h64[bad]).any())


@accepted
def torch_one_element_reduction_cancels(op, params, x, what, h, t, bad, g=None):
    """A whole program's second derivative through a reduction of one element per output (norm,
    prod, pairwise_distance, logsumexp over a dim of size 1): torch's double backward of norm's
    g x / |x| (prod's g out / x) forms terms of size g u / x that cancel, and their rounding noise
    (eps |g u / x|, 3e30 at x = 9e-20 under g = -4e18 in float32) swamps the exact value: torch
    0 for 0.1538 (fuzz seed 1002543439; amax, norm, tanh, mul by -2.6e18; the same in float64).
    ``params['one_element']`` is torch's own result with that step written as the elementwise
    function it is there (|x|, x, |x - w + eps|); accepted where handgrad's value equals it
    (also where both overflow to the same inf: logsumexp over one element after reciprocal of
    -3.7e-15 in float32, whose exact 2 / x^3 is beyond the largest float; fuzz seed
    1299885683, where torch gives -0 for -1.0e33 and for that inf alike). The fuzzer applies
    it to such a step alone too (fuzz seed 168009476: norm, p = 3, over a dim of one element;
    torch 256 and NaN where x^3 is subnormal, handgrad and |x| exactly 0)."""
    if op != "<program>" or what != "grad2" or isinstance(bad, str):
        return False
    ref = params.get("one_element")
    if not isinstance(ref, np.ndarray) or ref.shape != bad.shape or h.shape != bad.shape:
        return False
    rtol = 1e-2 if x.dtype == np.float32 else 5e-7
    with np.errstate(invalid="ignore", over="ignore"):
        h64, r64 = h.astype(np.float64), ref.astype(np.float64)
        same = np.isfinite(r64) & (np.abs(h64 - r64) <= rtol * np.abs(r64) + 1e-300)
        same |= np.isinf(r64) & (h64 == r64) & np.isfinite(t.astype(np.float64))
        return bool(same[bad].all() and np.isfinite(r64[bad]).any())


@accepted
def torch_multiplies_by_mask(op, params, x, what, h, t, bad, g=None):
    """An infinite or NaN upstream gradient meets a zero derivative: handgrad selects (exactly
    0), where some torch kernels multiply by a 0/1 mask (0 * inf = NaN), e.g. nan_to_num. In a
    second derivative the direction u contracted with the gradient is such an upstream
    gradient too: norm(p=inf)'s gradient g mask, whose derivative w.r.t. g is sum(mask u), is
    NaN in torch when u is NaN where the mask is 0, and handgrad's the finite sum of the
    selected u (fuzz seed 376538762)."""
    if what not in ("grad", "grad2") or isinstance(bad, str) or g is None:
        return False
    with np.errstate(invalid="ignore"):
        if not np.isfinite(g).all() and (h[bad] == 0).all() and np.isnan(t[bad]).all():
            return True
        u = params.get("u")
        if what == "grad2" and isinstance(u, np.ndarray) and u.shape == x.shape:
            m = _on(~np.isfinite(u), bad.shape)
            if op == "norm" and bad.shape != u.shape:
                # the derivative w.r.t. g of a reduction: u's slices along the reduced dims
                # (not the leading dims _on sums over; fuzz seed 493556798, dim=1)
                dim = params.get("dim")
                dims = None if dim is None else tuple(int(d) for d in np.atleast_1d(dim))
                m = (~np.isfinite(u)).any(axis=dims, keepdims=bool(params.get("keepdim")))
                m = m if m.shape == bad.shape else None
            if m is not None and m[bad].all():
                return bool(np.isfinite(h[bad]).all() and np.isnan(t[bad]).all())
    return _pow_mask_summed(op, params, x, what, h, t, bad, g)


def _pow_mask_summed(op, params, x, what, h, t, bad, g):
    """torch_multiplies_by_mask in a pow operand's gradient summed over broadcast dims: every
    non-finite g summed into the element meets a derivative that is exactly 0 by convention
    (d/db at a = 0, b >= 0; d/da at b = 0), so torch's sum is NaN and handgrad's the finite
    sum of the other terms."""
    if op != "pow" or what != "grad" or bad.shape == np.shape(g):
        return False
    ab = _operands(x, params)
    if ab is None:
        return False
    try:
        a, b, gg = np.broadcast_arrays(*ab, g)
    except ValueError:
        return False
    with np.errstate(invalid="ignore"):
        masked = ~np.isfinite(gg) & ((b == 0) | ((a == 0) & (b >= 0)))
        unmasked = ~np.isfinite(gg) & ~masked
        m, other = _on(masked, bad.shape), _on(unmasked, bad.shape)
        return bool(
            m is not None
            and other is not None
            and m[bad].all()
            and not other[bad].any()
            and np.isfinite(h[bad]).all()
            and np.isnan(t[bad]).all()
        )


@accepted
def limit_at_infinity(op, params, x, what, h, t, bad, g=None):
    """At an infinite input (or operand: pairwise_distance to -inf) torch's formula gives
    inf/inf or inf - inf = NaN where handgrad's (a stable form, e.g. soft_margin_loss through
    softplus, |x - w| through sign) gives the finite limit. A loss reduced to one value (sum,
    mean) reads every element: the derivative by its upstream gradient, sum u (-y sigmoid(-y x))
    for soft_margin_loss, meets torch's NaN at an infinite x even where u is 0 there (fuzz seed
    304171695: x = inf, y = -1.25, u = 0: torch NaN, handgrad the sum of the other terms)."""
    if what == "error" or isinstance(bad, str) or x.dtype.kind != "f":
        return False
    inf = np.zeros(bad.shape, bool)
    for a in [x, *params.values()]:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            try:
                inf |= np.broadcast_to(np.isinf(a), bad.shape)
            except ValueError:
                if bad.ndim == 0 and params.get("reduction") in ("sum", "mean"):
                    inf |= np.isinf(a).any()
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
def unstable_sort_ties(op, params, x, what, h, t, bad, g=None):
    """sort with stable=False (torch's default) over more than 16 elements: torch's CPU kernel is
    a SIMD quicksort (x86-simd-sort, chosen by the CPU's capability) that leaves equal values in
    an order it does not define; handgrad's sort is always stable. Only the gradients of tied
    elements (equal to another element of their slice, NaNs to each other) differ. A second
    derivative by the upstream gradient (leaf 1: sort has no float operand) is the direction u
    carried to the sorted positions, where the tied values are those of the sorted slice (fuzz
    seed 5586674: torch puts three 5e-324 from positions 3, 13, 27 at 28-30 as 27, 13, 3,
    handgrad as 3, 13, 27, and two 0.0 and a -0.0 likewise, so u lands on swapped places)."""
    if op != "sort" or what not in ("grad", "grad2") or isinstance(bad, str) or x.ndim == 0:
        return False
    d = params.get("dim", -1) % x.ndim
    if x.shape[d] <= 16 or bad.shape != x.shape:
        return False
    a = np.moveaxis(x, d, -1)
    key = np.where(np.isnan(a), np.inf, a) if a.dtype.kind == "f" else a
    nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    same = (key[..., :, None] == key[..., None, :]) & (nan[..., :, None] == nan[..., None, :])
    tied = same.sum(-1) > 1
    if what == "grad2" and params.get("leaf", 0) > 0:
        # at the output's positions: the slice in sorted order, NaN the largest (torch's);
        # tied elements stay together whatever order either library gives them
        order = np.lexsort((nan, key), axis=-1)
        if params.get("descending"):
            order = order[..., ::-1]
        tied = np.take_along_axis(tied, order, -1)
    return bool(np.moveaxis(tied, -1, d)[bad].all())


def _on(mask: np.ndarray, shape: tuple, reduce=np.any) -> np.ndarray | None:
    """An element-wise array over a binary op's output, reduced (``reduce``) over the dims a
    gradient of ``shape`` was summed over (broadcasting); None if it does not fit."""
    lead = mask.ndim - len(shape)
    if lead < 0:
        return None
    m = reduce(mask, axis=tuple(range(lead))) if lead else mask
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and m.shape[i] != 1)
    if axes:
        m = reduce(m, axis=axes, keepdims=True)
    return m if m.shape == tuple(shape) else None


def _operands(x, params):
    try:
        return np.broadcast_arrays(x, params["w"])
    except (KeyError, ValueError):
        return None


@accepted
def fmod_quotient_overflows(op, params, x, what, h, t, bad, g=None):
    """fmod / remainder(a, b) where a / b overflows (b subnormal: 0.33 / 5e-324): the exact
    result is finite (0 there; NumPy's fmod and torch's own scalar path give it), torch's
    vectorised float64 kernel forms a / b = inf and returns NaN."""
    if op not in ("fmod", "remainder") or what != "forward" or isinstance(bad, str):
        return False
    ab = _operands(x, params)
    if ab is None or ab[0].shape != bad.shape:
        return False
    a, b = ab
    with np.errstate(all="ignore"):
        over = np.isfinite(a) & np.isfinite(b) & (b != 0) & np.isinf(a / b)
        return bool(over[bad].all() and np.isfinite(h[bad]).all() and np.isnan(t[bad]).all())


@accepted
def norm_second_derivative_at_zero(op, params, x, what, h, t, bad, g=None):
    """The second derivative of a p-norm where the norm is 0 (a zero vector, or subnormal
    elements whose p-th powers underflow): it does not exist there (the Hessian grows like
    1 / |x|). Both first derivatives are 0 by convention; torch's masked formula then gives
    0 / 0 = NaN in its double backward, handgrad differentiates its own convention (0)."""
    if op != "norm" or what != "grad2" or isinstance(bad, str) or bad.shape != x.shape:
        return False
    p = params.get("p", 2.0)
    if not np.isfinite(p):
        return False
    dim = params.get("dim")
    dims = None if dim is None else ((dim,) if np.ndim(dim) == 0 else tuple(dim))
    with np.errstate(all="ignore"):
        s = np.sum(np.abs(x) ** p, axis=dims, keepdims=True) if x.ndim else np.abs(x) ** p
        zero = np.broadcast_to(s == 0, x.shape)
        return bool(zero[bad].all() and np.isfinite(h[bad]).all() and np.isnan(t[bad]).all())


@accepted
def std_second_derivative_at_zero(op, params, x, what, h, t, bad, g=None):
    """The derivative of std's input gradient w.r.t. its upstream gradient where the std is 0
    (a slice of one element with correction 0, a constant slice): the gradient there is 0 by
    convention in both libraries, so this derivative is 0; torch forms grad / (2 std) and then
    masks it (masked_fill), whose double backward divides the masked 0 by 2 std = 0 (NaN, fuzz
    seed 22374447); handgrad selects and differentiates its convention."""
    if op != "std" or what != "grad2" or isinstance(bad, str) or x.dtype.kind != "f":
        return False
    dim, keepdim = params.get("dim"), params.get("keepdim", False)
    dims = None if dim is None or x.ndim == 0 else ((dim,) if np.ndim(dim) == 0 else tuple(dim))
    with np.errstate(all="ignore"):
        s = np.std(x.astype(np.float64), axis=dims, ddof=params.get("correction", 1), keepdims=True)
        zero = s == 0
        if bad.shape == x.shape:
            zero = np.broadcast_to(zero, x.shape)
        elif not keepdim and dims is not None:
            zero = np.squeeze(zero, axis=tuple(d % x.ndim for d in dims))
        elif dims is None and not keepdim:
            zero = zero.reshape(())
        if zero.shape != bad.shape:
            return False
        return bool(zero[bad].all() and np.isfinite(h[bad]).all() and np.isnan(t[bad]).all())


@accepted
def torch_std_rounds_to_zero(op, params, x, what, h, t, bad, g=None):
    """std's input gradient over a slice that is not constant but whose std torch's kernel
    returns as 0: its Welford update, vectorised across the columns of a reduction over an
    outer dim, rounds the mean of 0.6931471805599453 and the next double onto the second value
    and the spread to 0, so torch's convention (gradient 0 where std = 0) masks the gradient,
    also under a NaN upstream gradient (fuzz seed 757840382: torch 0, handgrad NaN). The exact
    std is an ulp / 2 = 5.6e-17; handgrad's two-pass std gives 7.9e-17, as torch's own kernel
    does on the same two values contiguous. Accepted where torch's std of the slice (run again
    here) is 0 and its values are not all equal."""
    if op != "std" or what != "grad" or isinstance(bad, str) or bad.shape != x.shape:
        return False
    if x.dtype.kind != "f" or not x.ndim:
        return False
    import torch

    dim = params.get("dim")
    dims = tuple(range(x.ndim)) if dim is None else tuple(d % x.ndim for d in np.atleast_1d(dim))
    kw = {"correction": params.get("correction", 1), "keepdim": True}
    with np.errstate(all="ignore"):
        ts = torch.from_numpy(np.ascontiguousarray(x)).std(dims, **kw).numpy()
        spread = x.max(axis=dims, keepdims=True) > x.min(axis=dims, keepdims=True)
        masked = np.broadcast_to((ts == 0) & spread, x.shape)
        return bool(masked[bad].all() and (t[bad] == 0).all())


@accepted
def torch_std_grad_overflows(op, params, x, what, h, t, bad, g=None):
    """std's input gradient g (x - mean) / ((N - c) std) under an upstream gradient near the
    largest float: torch forms g / ((N - c) std) first, which overflows where the gradient is
    finite (float32 g = 1.43e38, std 0.198: torch inf, handgrad 7.91e37, the float64 value
    7.9136e37; fuzz seed 1554068287). Accepted where torch is inf or NaN and handgrad is
    finite and within 1e-5 of that float64 value."""
    if op != "std" or what != "grad" or g is None or isinstance(bad, str):
        return False
    if x.dtype.kind != "f" or not x.ndim or bad.shape != x.shape:
        return False
    dim, c = params.get("dim"), params.get("correction", 1)
    dims = tuple(range(x.ndim)) if dim is None else tuple(d % x.ndim for d in np.atleast_1d(dim))
    gk = np.asarray(g, np.float64)
    if not params.get("keepdim", False) and gk.ndim != x.ndim:
        gk = np.expand_dims(gk, dims)
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        xm = x64 - x64.mean(axis=dims, keepdims=True)
        n = int(np.prod([x.shape[d] for d in dims])) - c
        exact = np.broadcast_to(
            gk * xm / (n * np.sqrt((xm * xm).sum(axis=dims, keepdims=True) / n)), x.shape
        )
        ok = ~np.isfinite(t) & np.isfinite(h) & np.isfinite(exact)
        ok &= np.abs(h - exact) <= 1e-5 * np.abs(exact)
    return bool(ok[bad].all())


@accepted
def torch_pnorm_grad_overflows(op, params, x, what, h, t, bad, g=None):
    """A p-norm's input gradient g sign(x) |x|^(p-1) / norm^(p-1) (finite p > 1) under an
    upstream gradient near the largest float (or the smallest): torch divides g by norm^(p-1)
    first, which overflows (or underflows) where the gradient is finite (float32 p = 3 over one
    element 0.818 under g = 2.49e38: torch inf, handgrad 2.49e38 = g exactly; fuzz seed
    693030598). Accepted where torch is inf or NaN (or 0, below) and handgrad is finite and
    within 1e-5 of the float64 value."""
    pp = params.get("p", 2.0)
    if op != "norm" or what != "grad" or g is None or isinstance(bad, str):
        return False
    if not (np.isfinite(pp) and pp > 1) or x.dtype.kind != "f" or not x.ndim:
        return False
    if bad.shape != x.shape:
        return False
    dim = params.get("dim")
    dims = tuple(range(x.ndim)) if dim is None else tuple(d % x.ndim for d in np.atleast_1d(dim))
    gk = np.asarray(g, np.float64)
    if not params.get("keepdim", False) and gk.ndim != x.ndim:
        gk = np.expand_dims(gk, dims)
    with np.errstate(all="ignore"):
        a = np.abs(x.astype(np.float64))
        m = a.max(axis=dims, keepdims=True)  # scaled, so that |x|^p does not overflow
        norm = m * ((a / m) ** pp).sum(axis=dims, keepdims=True) ** (1 / pp)
        exact = gk * np.sign(x) * (a / norm) ** (pp - 1)
        exact = np.broadcast_to(exact, x.shape)
        # or torch 0 where g / norm^(p-1), which it forms first, is below the smallest float
        # (float64 p = 3 over one element 5.9e95 under g = 9.2e-193: torch 0, handgrad g;
        # fuzz seed 1875645711); in logarithms, which do not underflow here
        tiny = np.log(np.finfo(x.dtype).smallest_subnormal)
        under = np.broadcast_to(np.log(np.abs(gk)) - (pp - 1) * np.log(norm) < tiny, x.shape)
        ok = (~np.isfinite(t) | ((t == 0) & under & (exact != 0))) & np.isfinite(h)
        ok &= np.isfinite(exact) & (np.abs(h - exact) <= 1e-5 * np.abs(exact))
    return bool(ok[bad].all())


@accepted
def std_two_element_noise(op, params, x, what, h, t, bad, g=None):
    """The second derivative (w.r.t. x) of std over slices of two elements: std = |x1 - x0| / c
    is piecewise linear, so the exact value is 0; both libraries form it from terms of size
    |g| |u| / std that cancel, in different orders, and keep different rounding noise (fuzz seed
    761278818: std 2.5e-122 under g = 1e63, handgrad 2.3e169, torch 1.5e169). Accepted where
    both results lie within 32 eps |g| max|u| / std of 0."""
    if op != "std" or what != "grad2" or g is None or isinstance(bad, str):
        return False
    u = params.get("u")
    if not isinstance(u, np.ndarray) or u.shape != x.shape or bad.shape != x.shape or not x.ndim:
        return False
    dim = params.get("dim")
    dims = tuple(range(x.ndim)) if dim is None else tuple(d % x.ndim for d in np.atleast_1d(dim))
    if int(np.prod([x.shape[d] for d in dims])) != 2:
        return False
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        sd = np.std(x64, axis=dims, ddof=params.get("correction", 1), keepdims=True)
        gg = np.abs(np.asarray(g, np.float64))
        gg = gg if params.get("keepdim") else np.expand_dims(gg, dims)
        umax = np.abs(u.astype(np.float64)).max(axis=dims, keepdims=True)
        noise = np.broadcast_to(32 * np.finfo(x.dtype).eps * gg * umax / sd, x.shape)
        ok = np.isfinite(noise) & (np.abs(h) <= noise) & (np.abs(t) <= noise)
        return bool(ok[bad].all())


@accepted
def pow_second_derivative_at_zero_base(op, params, x, what, h, t, bad, g=None):
    """pow's second derivatives at base 0: torch's exponent gradient multiplies its
    where(base == 0 and b >= 0, 0, a^b log a) by the incoming gradient, which in the double
    backward is 0 * log 0 = NaN, so every second derivative at base 0 is NaN in torch, even
    d^2(0^b)/db^2 = 0 (b > 0). handgrad selects (its where is outside): 0 for b > 1, where the
    true limit is 0; at b = 1 the mixed derivative has no finite limit and handgrad's value is
    that of the 0 convention."""
    if op != "pow" or what != "grad2" or isinstance(bad, str):
        return False
    ab = _operands(x, params)
    if ab is None:
        return False
    m = _on(ab[0] == 0, bad.shape)
    with np.errstate(all="ignore"):
        return bool(
            m is not None and m[bad].all() and np.isfinite(h[bad]).all() and np.isnan(t[bad]).all()
        )


def _groups(op, params, x):
    """x as (statistics, values per statistic) for a normalization layer, or None."""
    if op == "F.layer_norm":
        n = params["n"]
        return x.reshape(-1, int(np.prod(x.shape[x.ndim - n :])))
    if op == "F.group_norm" and x.ndim >= 2:
        return x.reshape(x.shape[0] * params["g"], -1)
    if op == "F.instance_norm" and x.ndim >= 3:
        return x.reshape(x.shape[0] * x.shape[1], -1)
    return None


@accepted
def torch_norm_cancels(op, params, x, what, h, t, bad, g=None):
    """layer_norm, group_norm, instance_norm of values far from zero relative to their spread:
    torch's fused kernels form the output as x a + b (a = w / sigma, b = bias - mean a) and the
    input gradient as d a + x c + e, so two terms of size |mean| / sigma cancel, with a rounding
    error of eps |mean| / sigma; when that exceeds the comparison tolerance torch's value is
    noise (a group of one element: 2.9e130 for the exact 0, a constant row: gradient 0 for
    the exact (d - mean d) / sqrt(eps)). handgrad subtracts the mean first, exactly."""
    if what not in ("forward", "grad") or isinstance(bad, str) or bad.shape != x.shape:
        return False
    rows = _groups(op, params, x)
    if rows is None or rows.size == 0 or x.dtype.kind != "f":
        return False
    r = rows.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = r.mean(axis=1, keepdims=True)
        var = ((r - mean) ** 2).mean(axis=1, keepdims=True)
        noise = np.finfo(x.dtype).eps * np.abs(mean) / np.sqrt(var + 1e-5)
    tol = 2e-3 if x.dtype == np.float32 else 1e-7
    lost = np.broadcast_to(noise > tol, rows.shape).reshape(x.shape)
    if what == "forward" and not lost[bad].all():
        # an output near 0 (a constant row: exactly 0) compares relatively: torch's x a + b is
        # within eps (|x| + |mean|) / sigma (times |w|, plus eps |bias|) of handgrad's exact
        # value, below the tolerance but all of it (fuzz seeds 757807016, 1988556787: a
        # constant row at 1.69 and at -1.0, torch -5.2e-14 and 1.8e-14 for 0)
        w, b = (np.abs(params.get(k, 1.0)).max(initial=0.0) for k in ("w", "wb"))
        with np.errstate(invalid="ignore", over="ignore"):
            span = (np.abs(r) + np.abs(mean)) / np.sqrt(var + 1e-5) * max(w, 1.0) + b
            near = 4 * np.finfo(x.dtype).eps * span.reshape(x.shape)
            diff = np.abs(h.astype(np.float64) - t)
        return bool(((diff <= near) | lost)[bad].all())
    return bool(lost[bad].all())


@accepted
def torch_norm_one_element_noise(op, params, x, what, h, t, bad, g=None):
    """The second derivatives of layer_norm, group_norm, instance_norm over groups of one
    element: x^ = 0 and the input gradient (d - mean d - x^ mean(d x^)) / sigma is 0 for every
    x and g, so its derivatives are 0 (the one by g is the bias direction alone). torch's double
    backward forms them from terms of size |u| |w| |g| / sqrt(eps) that cancel, and keeps their
    rounding noise (fuzz seed 1988569769: u = -1.6e50, handgrad the exact 1.4158, torch 2.7e36).
    Accepted where the groups have one element and both results lie within 32 eps |u| max(|w|,
    1) max(|g|, 1) / sqrt(eps) of each other. Likewise the first derivatives there (by x and by
    the weight, sum g x^), exactly 0: accepted where handgrad's is 0 and torch's within
    32 eps |x| |g| max(|w|, 1) / sqrt(eps) per group, summed over the groups (fuzz seed
    84635871: torch's kernel without a graph gives the weight gradient -2.3e-5, with one 0, and
    the input gradient 3.1e-5 either way, x = -0.87 in float32)."""
    if what in ("grad", "grad_plain") and not isinstance(bad, str) and g is not None:
        rows = _groups(op, params, x)
        if rows is None or rows.shape[1] != 1 or x.dtype.kind != "f":
            return False
        with np.errstate(invalid="ignore", over="ignore"):
            w = max(float(np.abs(params.get("w", 1.0)).max(initial=1.0)), 1.0)
            xm = float(np.nanmax(np.abs(x.astype(np.float64)), initial=0.0))
            gm = float(np.nanmax(np.abs(g.astype(np.float64)), initial=0.0))
            noise = 32 * np.finfo(x.dtype).eps * xm * gm * w * rows.shape[0] / np.sqrt(1e-5)
            ok = (np.asarray(h) == 0) & (np.abs(np.asarray(t, np.float64)) <= noise)
            return bool(np.isfinite(noise) and ok[bad].all())
    if what != "grad2" or isinstance(bad, str):
        return False
    rows = _groups(op, params, x)
    u = params.get("u")
    if rows is None or rows.shape[1] != 1 or not isinstance(u, np.ndarray) or not u.size:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        w = max(float(np.abs(params.get("w", 1.0)).max(initial=1.0)), 1.0)
        gm = max(float(np.nanmax(np.abs(g), initial=1.0)) if g is not None else 1.0, 1.0)
        um = float(np.nanmax(np.abs(u.astype(np.float64))))
        noise = 32 * np.finfo(x.dtype).eps * um * w * gm / np.sqrt(1e-5)
        ok = np.abs(h.astype(np.float64) - t) <= noise
        return bool(np.isfinite(noise) and ok[bad].all())


@accepted
def normalize_0d_overflows(op, params, x, what, h, t, bad, g=None):
    """F.normalize of a 0-d tensor above sqrt of the largest float: torch's norm of a 0-d
    tensor along dim 0 squares it (inf), so x / inf = 0; along a dim of one element torch
    returns |x| exactly, and so does handgrad for both: x / |x| = +-1. The same for ``norm``'s
    gradient there: torch x (g / inf) = 0, handgrad g sign(x), and for a p-norm (p > 1) above
    the p-th root of the largest float, or where |x|^p underflows to 0 (torch's norm 0, its
    gradient masked to 0); and for its derivative w.r.t. g in a direction u: torch 0,
    handgrad u sign(x)."""
    if op not in ("F.normalize", "norm") or isinstance(bad, str) or x.ndim:
        return False
    if what not in (("forward",) if op == "F.normalize" else ("grad", "grad2")):
        return False
    p = params.get("p")
    # norm's general-p formula overflows alike: |x|^p = inf, so x |x|^(p-2) g / inf = 0
    # (fuzz seed 22326478, p = 3 at 8.7e146)
    if not (p == 2.0 if op == "F.normalize" else isinstance(p, float) and 1 < p < np.inf):
        return False
    big = np.finfo(x.dtype).max ** (1 / p)
    u = params.get("u")  # grad2: the derivative of g sign(x) u w.r.t. g (fuzz seed 761282044)
    exact = (
        1.0
        if op == "F.normalize"
        else (abs(float(g)) if g is not None else np.nan)
        if what == "grad"
        else (abs(float(u)) if isinstance(u, np.ndarray) and u.size == 1 else np.nan)
    )
    # and below: norm's |x|^p underflows to 0 in torch (p = 3 of -5e-324, fuzz seed
    # 1408740951), its norm 0, and its gradient masked to 0 whatever g is, NaN included
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        tiny = op == "norm" and x != 0 and np.abs(x) ** x.dtype.type(p) == 0
        same = (np.abs(h[bad]) == exact) | (np.isnan(h[bad]) & np.isnan(exact))
    return bool((abs(float(x)) > big or tiny) and (t[bad] == 0).all() and same.all())


@accepted
def torch_norm_at_zero_vector(op, params, x, what, h, t, bad, g=None):
    """Second derivatives through the 2-norm of a zero vector (or one whose squares underflow
    to 0) in normalize and cosine_similarity: the norm's gradient is 0 there in both libraries,
    torch by masked_fill after dividing by the norm, so its double backward meets 0 / 0 = NaN;
    handgrad divides by a safe denominator and selects, and its value is the derivative of the
    rest of the formula (0 for normalize, the cross term 1 / (|x| eps) for cosine_similarity)."""
    if op not in ("F.normalize", "F.cosine_similarity") or what != "grad2" or isinstance(bad, str):
        return False
    with np.errstate(invalid="ignore"):
        if not (np.isnan(t[bad]).all() and np.isfinite(h[bad]).all()):
            return False
    if op == "F.normalize":
        if params.get("p") != 2.0:
            return False
        dim = params["dim"] if x.ndim else None
        ops = [x]
    else:
        dim = params["dim"]
        ops = [x, params["w"]]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in ops))
    except ValueError:
        return False
    zero = np.zeros(shape, bool)
    for a in ops:
        a = np.broadcast_to(a, shape)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            s = (a * a).sum(axis=dim, keepdims=True) if a.ndim else a * a
        zero |= np.broadcast_to(s == 0, shape)
    # to the leaf's shape (an operand broadcast along dims where the leaf has 1)
    lead = len(shape) - bad.ndim
    if lead < 0:
        return False
    z = zero.any(axis=tuple(range(lead))) if lead else zero
    axes = tuple(i for i, n in enumerate(bad.shape) if n == 1 and z.shape[i] != 1)
    z = z.any(axis=axes, keepdims=True) if axes else z
    try:
        return bool(np.broadcast_to(z, bad.shape)[bad].all())
    except ValueError:
        return False


@accepted
def soft_margin_exp_overflows(op, params, x, what, h, t, bad, g=None):
    """soft_margin_loss's gradient -y e^(-y x) / (1 + e^(-y x)) where -y x is above the log of
    the largest float: torch's exponential overflows, inf / inf = NaN, from finite x and y;
    handgrad's softplus gradient is -y sigmoid(-y x) = -y, the exact limit. Likewise the value
    log(1 + e^(-y x)) there: torch inf, handgrad's softplus -y x, finite (fuzz seed 841020463;
    seen once the fuzzer stopped counting a finite value close to an inf)."""
    if op != "F.soft_margin_loss" or what not in ("forward", "grad") or isinstance(bad, str):
        return False
    y = np.broadcast_to(params["w"], x.shape) if isinstance(params.get("w"), np.ndarray) else None
    reduction = params.get("reduction", "mean")
    if y is None or (bad.shape != x.shape and not (what == "forward" and reduction != "none")):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        z = -(x.astype(np.float64) * y)
        over = np.isfinite(x) & np.isfinite(y) & (z > np.log(np.finfo(x.dtype).max))
        if what == "forward" and reduction != "none":
            # a mean or sum over elements of which one overflows in torch (fuzz seed 21207570:
            # torch inf, handgrad 7.3e9): accepted where handgrad's value is the exact reduction
            # of the softplus terms, computed here in float64
            terms = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
            exact = terms.sum() / (terms.size if reduction == "mean" else 1)
            close = np.isfinite(exact) and abs(float(h) - exact) <= 1e-4 * abs(exact)
            return bool(over.any() and close and np.isposinf(t).all())
        if what == "forward":  # torch inf, handgrad the exact -y x (softplus's linear region)
            exact = np.isfinite(z) & (h == z.astype(x.dtype))
            return bool((over & exact)[bad].all() and np.isposinf(t[bad]).all())
        return bool(over[bad].all() and np.isnan(t[bad]).all() and np.isfinite(h[bad]).all())


@accepted
def soft_margin_double_backward_overflows(op, params, x, what, h, t, bad, g=None):
    """soft_margin_loss's second derivative, y^2 z / (1 + z)^2 times the second pass's cotangent
    (z = e^(-y x)), where z underflows to 0 (or (1 + z)^2 overflows, below): torch multiplies
    y^2 by the cotangent first, which can overflow (inf), and then by z = 0 (NaN); the exact
    value carries the factor z, below the smallest float, and handgrad gives 0 (fuzz seed
    1558880683: y = 3.0e129 at x = 7.5e-95, the output of a sqrt whose derivative there,
    6.7e93, is the cotangent: 9e258 x 6.7e93 = inf)."""
    if op != "F.soft_margin_loss" or what != "grad2" or isinstance(bad, str):
        return False
    y = np.broadcast_to(params["w"], x.shape) if isinstance(params.get("w"), np.ndarray) else None
    if y is None or bad.shape != x.shape:
        return False
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        z = np.exp(-(x * y))  # in x's float: 0 where it underflows there
        under = np.isfinite(x) & np.isfinite(y) & (z == 0)
        if under[bad].all() and np.isnan(t[bad]).all() and (h[bad] == 0).all():
            return True
        # or z so large that (1 + z)^2 overflows x's float while z does not (-y x above half the
        # log of the largest float): torch's quotient rule meets inf - inf = NaN; the exact
        # value, y^2 z / (1 + z)^2 ~ y^2 / z, is tiny and finite, as handgrad's (fuzz seed
        # 1875642779: float32 x = -78.57, y = 1, torch NaN, handgrad -6.5e-31)
        big = -(x.astype(np.float64) * y) > np.log(np.finfo(x.dtype).max) / 2
        return bool(big[bad].all() and np.isnan(t[bad]).all() and np.isfinite(h[bad]).all())


@accepted
def mish_exp_overflow(op, params, x, what, h, t, bad, g=None):
    """torch's second derivative of mish goes through its infinitely differentiable mish
    backward, which forms softplus as log1p(exp(x)): above log of the largest float (88.7 in
    float32, 709.8 in float64) exp(x) is inf, and log1p's gradient 1 / (1 + inf) = 0 meets
    exp's gradient inf (0 * inf = NaN). handgrad's softplus is stable there: its second
    derivative is the finite value (0 to the last bit, as mish is x up to e^-x there)."""
    if op != "F.mish" or what != "grad2" or isinstance(bad, str) or x.dtype.kind != "f":
        return False
    with np.errstate(invalid="ignore"):
        try:
            over = np.broadcast_to(np.isfinite(x) & (x > np.log(np.finfo(x.dtype).max)), bad.shape)
        except ValueError:
            return False
        return bool(over[bad].all() and np.isnan(t[bad]).all() and np.isfinite(h[bad]).all())


@accepted
def torch_sigmoid_exp_overflows(op, params, x, what, h, t, bad, g=None):
    """sigmoid (and silu's, mish's gradient through it) below -log of the largest float (-88.7
    in float32, -709.8 in float64): torch's 1 / (1 + e^-x) overflows e^-x and gives 0, where the
    value is the subnormal e^x (float32 sigmoid(-102) = 5.6e-45, e^-102 = 5.1e-45; the mish
    gradient at -744.4 in float64 is -3.7e-321, torch's 5e-324). handgrad forms e^-|x| and keeps
    it. Accepted where both results are within the size of that underflow, 2 |g| (1 + |x|) e^x
    (plus two subnormals)."""
    if op not in ("sigmoid", "F.silu", "F.mish") or what not in ("forward", "grad"):
        return False
    if isinstance(bad, str) or x.dtype.kind != "f" or bad.shape != x.shape:
        return False
    gg = np.ones(x.shape) if g is None or what == "forward" else g.astype(np.float64)
    if gg.shape != x.shape:
        return False
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        size = (
            2 * np.abs(gg) * (1 + np.abs(x64)) * np.exp(x64)
            + 2 * np.finfo(x.dtype).smallest_subnormal
        )
        under = np.isfinite(x) & (x64 < -np.log(np.finfo(x.dtype).max))
        ok = under & (np.abs(h) <= size) & (np.abs(t) <= size)
        return bool(ok[bad].all())


@accepted
def bce_through_torch_sigmoid_underflow(op, params, x, what, h, t, bad, g=None):
    """The fuzzer's F.binary_cross_entropy on sigmoid(x) below -log of the largest float: torch's
    sigmoid gives 0 where the value is the subnormal e^x (torch_sigmoid_exp_overflows), and the
    gradient through it, g (p - target) / max(p (1 - p), 1e-12) times p (1 - p), amplifies that
    underflow by up to 1e12 (torch's own clamp of the denominator). float64 x = -744.44: torch
    -0, handgrad -9.7e-314, which is torch's formula on the correctly rounded sigmoid 4.9e-324
    (fuzz seed 1778756927). Accepted where both results are within 2 |g| (1 + |target|) 1e12
    (e^x + 2 subnormals)."""
    if op != "F.binary_cross_entropy" or what != "grad" or g is None:
        return False
    if isinstance(bad, str) or x.dtype.kind != "f" or bad.shape != x.shape:
        return False
    try:
        gg = np.broadcast_to(np.asarray(g, np.float64), x.shape)
        tt = np.broadcast_to(np.asarray(params["t"], np.float64), x.shape)
    except (ValueError, KeyError):
        return False
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        size = (
            2e12
            * np.abs(gg)
            * (1 + np.abs(tt))
            * (np.exp(x64) + 2 * np.finfo(x.dtype).smallest_subnormal)
        )
        under = np.isfinite(x) & (x64 < -np.log(np.finfo(x.dtype).max))
        ok = under & (np.abs(h) <= size) & (np.abs(t) <= size)
        return bool(ok[bad].all())


@accepted
def logsigmoid_second_derivative_cancels(op, params, x, what, h, t, bad, g=None):
    """logsigmoid's second derivative -s (1 - s) = -e^-x / (1 + e^-x)^2 (s = sigmoid(x)) at
    x > 0: torch's log_sigmoid_double_backward forms (s - 1) s, where s - 1 cancels: exact, but
    s carries sigmoid's rounding, a few ulps of 1, so torch's value is off by up to 2 eps |g u|.
    Where s rounds to 1 (x > 36.7 in float64, 16.6 in float32) that is torch's 0 (at x = 450.8,
    g u = 1.3: -2.16e-196, the exact value, torch 0; fuzz seeds 22280914, 493495444); below
    it only digits are lost (x = 33.2, where 1 - s = 3.6e-15: torch 2.7% off; fuzz seed
    928203272). handgrad differentiates its softplus form and keeps the exact value. Accepted
    where handgrad's is the exact value to 1e-6 and torch's is 0 where s rounds to 1, or
    within 2 eps |g u| of the exact value. Inside a program (``params['c']``, the second pass's
    cotangent at the output, ``runner._whole_program``) the value compared is the cotangent at
    x, which adds c times the first derivative e^-x / (1 + e^-x)."""
    if op != "F.logsigmoid" or what != "grad2" or g is None or isinstance(bad, str):
        return False
    u = params.get("u")
    if not isinstance(u, np.ndarray) or not (bad.shape == x.shape == g.shape == u.shape):
        return False
    eps = float(np.finfo(x.dtype).eps)
    with np.errstate(all="ignore"):
        one = (1 / (1 + np.exp(-x))).astype(x.dtype) == 1
        x64 = x.astype(np.float64)
        e = np.exp(-x64)
        gu = g.astype(np.float64) * u
        exact = -gu * e / (1 + e) ** 2
        c = params.get("c")
        if isinstance(c, np.ndarray) and c.shape == x.shape:
            exact = exact + c.astype(np.float64) * e / (1 + e)
        h64, t64 = h.astype(np.float64), t.astype(np.float64)
        near = np.isfinite(exact) & (np.abs(h64 - exact) <= 1e-6 * np.abs(exact))
        lost = (x64 > 0) & (np.abs(t64 - exact) <= 2 * eps * np.abs(gu) + 1e-6 * np.abs(exact))
        ok = near & ((one & (t == 0)) | lost)
        return bool(ok[bad].all())


@accepted
def torch_tanh_last_bit(op, params, x, what, h, t, bad, g=None):
    """tanh, tanhshrink and their gradients where torch's tanh(x) is not the correctly rounded
    value (its SLEEF kernel is within an ulp: 4% of float64 inputs in [-0.3, 0.3] are an ulp
    off) and handgrad's is: x - tanh(x) near 0 and 1 - tanh(x)^2 at large |x| amplify that
    last bit (fuzz seeds 22310837, 493543145). The correctly rounded value is mpmath's."""
    if op not in ("tanh", "F.tanh", "F.tanhshrink") or what not in ("forward", "grad"):
        return False
    if isinstance(bad, str) or bad.shape != x.shape or x.dtype.kind != "f" or not bad.any():
        return False
    import mpmath
    import torch

    import handgrad as hg

    xs = x[bad]
    mpmath.mp.prec = 120
    exact = np.array([float(mpmath.tanh(mpmath.mpf(float(v)))) for v in xs]).astype(x.dtype)
    tt = torch.tanh(torch.from_numpy(np.ascontiguousarray(xs))).numpy()
    ht = hg.tanh(hg.tensor(xs)).numpy()
    return bool(((ht == exact) & (tt != exact)).all())


@accepted
def softshrink_zero_sign(op, params, x, what, h, t, bad, g=None):
    """softshrink's zeros (|x| <= lambda): torch gives -0.0 for a negative x on its scalar path
    (tensors of fewer than 16 float32 elements, or the tail) and +0.0 on its vectorised one;
    handgrad gives the scalar path's -0.0 everywhere. Only a later 1 / x tells them apart."""
    if op != "F.softshrink" or what != "forward" or isinstance(bad, str):
        return False
    with np.errstate(invalid="ignore"):
        return bool(((h[bad] == 0) & (t[bad] == 0)).all())


@accepted
def interpolate_fma_zero_sign(op, params, x, what, h, t, bad, g=None):
    """F.interpolate's linear modes where a weighted sum of subnormal pixels rounds to zero:
    torch's kernel fuses the multiply-add (x0 w0 + x1 w1 in one rounding), so the exact
    -2.5e-324 of -5e-324 / 2 + 0 / 2 rounds to -0.0; handgrad rounds each product first,
    (-0.0) + (+0.0) = +0.0 (fuzz seed 1625022174: a float64 row [-4.5e307, -5e-324, 0, 0]
    to 5 points with align_corners). Accepted where both results are zeros of opposite
    signs and the input holds a subnormal; only a later 1 / x tells them apart."""
    if op != "F.interpolate" or what != "forward" or isinstance(bad, str):
        return False
    if params.get("mode") not in ("linear", "bilinear", "trilinear", "bicubic"):
        return False
    tiny = np.finfo(x.dtype).tiny
    with np.errstate(invalid="ignore"):
        subnormal = ((x != 0) & (np.abs(x) < tiny)).any()
        zeros = (h[bad] == 0) & (t[bad] == 0) & (np.signbit(h[bad]) != np.signbit(t[bad]))
    return bool(subnormal and zeros.all())


@accepted
def matmul_fma_zero_sign(op, params, x, what, h, t, bad, g=None):
    """matmul outputs whose products underflow to zero: torch's kernel fuses the multiply-add
    (a b + 0 rounded once), so an exact -2.4e-639 (4.9e-316 times -4.9e-324) rounds to -0.0;
    NumPy's BLAS here rounds the product first and (-0.0) + (+0.0) = +0.0 (fuzz seed
    2113492753, on a Xeon model 207 VM). Accepted where both results are zeros of opposite
    signs and the exact sum of products, formed in a wider float, is nonzero, below the
    smallest float and of torch's sign; only a later 1 / x tells them apart."""
    w = params.get("w")
    if op != "matmul" or what != "forward" or isinstance(bad, str) or not isinstance(w, np.ndarray):
        return False
    if x.dtype.kind != "f" or x.ndim == 0:
        return False
    wide = np.longdouble if x.dtype == np.float64 else np.float64
    try:
        exact = np.matmul(x.astype(wide), w.astype(wide))
    except ValueError:
        return False
    if exact.shape != bad.shape:
        return False
    tiny = float(np.finfo(x.dtype).smallest_subnormal)
    with np.errstate(invalid="ignore"):
        e = exact[bad]
        ok = (h[bad] == 0) & (t[bad] == 0) & (np.signbit(h[bad]) != np.signbit(t[bad]))
        ok &= (e != 0) & (2 * np.abs(e) < tiny) & (np.signbit(e) == np.signbit(t[bad]))
    return bool(ok.all())


@accepted
def minmax_zero_sign(op, params, x, what, h, t, bad, g=None):
    """minimum / maximum of +0.0 and -0.0: torch returns its first operand on its scalar path
    (fewer than 16 float32 or 8 float64 elements, and the tail) and its second on the
    vectorised one; handgrad (NumPy) returns the second for every size. Only a later 1 / x
    tells them apart."""
    if op not in ("minimum", "maximum") or what != "forward" or isinstance(bad, str):
        return False
    ab = _operands(x, params)
    if ab is None or ab[0].shape != bad.shape:
        return False
    a, b = ab
    with np.errstate(invalid="ignore"):
        tie = (a == 0) & (b == 0) & (np.signbit(a) != np.signbit(b)) & (h == 0) & (t == 0)
        return bool(tie[bad].all())


@accepted
def torch_norm_double_backward_differs(op, params, x, what, h, t, bad, g=None):
    """group_norm's second derivative where torch's double backward is off its own autograd of
    the formula (each group's x - mean over sqrt(var + eps), torch in float64:
    ``params['composed']``) by more than the rounding of the terms that cancel in it, of size
    |g| |u| / sigma (``params['terms']``), and handgrad is within 32 eps of those terms of it
    (fuzz seed 1197233188: a group of 8.7e130 and 2.0e3, x^ = +-1, terms of 2.9e24 whose exact
    sum is -7.5e-243 (mpmath): torch -1.4e24, its composed formula 1.7e8, handgrad -1.7e5)."""
    if op != "F.group_norm" or what != "grad2" or isinstance(bad, str):
        return False
    ref, terms = params.get("composed"), params.get("terms")
    if not isinstance(ref, np.ndarray) or ref.shape != bad.shape or h.shape != bad.shape:
        return False
    if not (isinstance(terms, float) and np.isfinite(terms)):
        return False
    noise = 32 * float(np.finfo(x.dtype).eps) * terms
    with np.errstate(invalid="ignore", over="ignore"):
        h64, r64, t64 = (a.astype(np.float64) for a in (h, ref, t))
        near = np.abs(h64 - r64) <= noise
        torch_off = ~(np.abs(t64 - r64) <= noise)
        return bool((near & torch_off)[bad].all())


@accepted
def torch_norm_grad_overflows(op, params, x, what, h, t, bad, g=None):
    """The input gradient of layer_norm, group_norm or instance_norm under a huge upstream
    gradient: torch's fused backward forms per group db = sum g w, ds = sum g w x and the
    coefficients db rstd and (db mean - ds) rstd^3 (rstd = 1 / sigma) before it meets x, and
    those overflow (inf, then inf - inf) where the gradient itself is finite: float32 g = 1.6e38
    in a group with sigma 0.43 gives db rstd = 4.6e38. handgrad's (d - mean d - x^ mean(d x^))
    rstd has no such intermediate (checked against torch's float64 result: equal to 7 digits).
    With a weight, torch also forms g rstd and g x before it multiplies by w (float32 g = 1.9e36
    at rstd = 1 / sqrt(eps) in a group of one element: inf, where the exact gradient is 0, fuzz
    seed 1778802319; float64 g = -1.1e308 at x = 1.68: inf, then inf - inf = NaN in the whole
    group, handgrad the exact 1.2e307, fuzz seed 2030066975; torch without the weight, given
    g w, is finite there). Only groups whose x and g are finite and one of those intermediates
    exceeds the largest float count."""
    if what != "grad" or g is None or isinstance(bad, str) or bad.shape != x.shape:
        return False
    rows = _groups(op, params, x)
    if rows is None or rows.size == 0 or x.dtype.kind != "f" or g.shape != x.shape:
        return False
    d = g.astype(np.float64)
    w = params.get("w")
    if isinstance(w, np.ndarray):
        if op == "F.group_norm":
            w = w.reshape((1, -1) + (1,) * (x.ndim - 2))
        d = d * w.astype(np.float64)
    r, dr = rows.astype(np.float64), d.reshape(rows.shape)
    g0 = g.astype(np.float64).reshape(rows.shape)  # before the weight
    with np.errstate(all="ignore"):
        mean = r.mean(axis=1, keepdims=True)
        rstd = 1 / np.sqrt(((r - mean) ** 2).mean(axis=1, keepdims=True) + 1e-5)
        db = dr.sum(axis=1, keepdims=True)
        ds = (dr * r).sum(axis=1, keepdims=True)
        terms = [
            db,
            ds,
            db * rstd,
            (db * mean - ds) * rstd**3,
            np.abs(dr * rstd).max(1, keepdims=True),
            np.abs(g0 * rstd).max(1, keepdims=True),
            np.abs(g0 * r).max(1, keepdims=True),
        ]
        over = np.zeros(db.shape, bool)
        for a in terms:
            over |= np.abs(a) > np.finfo(x.dtype).max
        finite = np.isfinite(r).all(1, keepdims=True) & np.isfinite(dr).all(1, keepdims=True)
        lost = np.broadcast_to(over & finite, rows.shape).reshape(x.shape)
        return bool(lost[bad].all() and np.isfinite(h[bad]).all() and (~np.isfinite(t[bad])).all())


@accepted
def normalize_one_element_noise(op, params, x, what, h, t, bad, g=None):
    """The second derivative of F.normalize along a dim of one element (or of a 0-d x, fuzz
    seed 376526011): x / |x| = sign(x) is
    piecewise constant, so the exact value is 0; both libraries differentiate g (x / |x|) and
    1 / |x| and sum terms of size |g| / x^2 that cancel, leaving rounding noise of a few
    eps |g| / x^2 whose value depends on the order of the sum (their autograd engines
    accumulate the terms in different orders). Accepted where both results are within
    32 eps |g| / x^2 of the exact 0. The terms scale with the direction u at x where it is
    larger than 1; and inside a program (``params['c']``, the second pass's cotangent at the
    output, ``runner._whole_program``) the value compared is the cotangent at x, which adds
    c times the first derivative, itself rounding noise of a few eps |c| / |x| (fuzz seeds
    1778832219, 1778829917: torch 0, handgrad 1.2e24 and -8192, which rsqrt before it
    amplifies to inf in float32; the exact value is 0 in both programs)."""
    if op != "F.normalize" or what != "grad2" or g is None or isinstance(bad, str):
        return False
    # a 0-d x is normalized along dim 0 or -1 as one element (torch and handgrad alike)
    one = x.shape[params["dim"]] == 1 if x.ndim else params["dim"] in (0, -1)
    if not one or bad.shape != x.shape or g.shape != x.shape:
        return False
    u, c = params.get("u"), params.get("c")
    u = np.ones(x.shape) if not isinstance(u, np.ndarray) or u.shape != x.shape else u
    c = np.zeros(x.shape) if not isinstance(c, np.ndarray) or c.shape != x.shape else c
    eps = np.finfo(x.dtype).eps
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        scale = np.maximum(np.abs(u.astype(np.float64)), 1.0)
        noise = 32 * eps * np.abs(g.astype(np.float64)) * scale / (x64 * x64)
        noise += 32 * eps * np.abs(c.astype(np.float64) / x64)
        ok = np.isfinite(noise) & (x != 0) & (np.abs(h) <= noise) & (np.abs(t) <= noise)
        return bool(ok[bad].all())


@accepted
def cosine_one_element_noise(op, params, x, what, h, t, bad, g=None):
    """The second derivatives of F.cosine_similarity along a dim of one element: there the
    result is u(x) u(w) with u(a) = a / max(|a|, eps) (eps = 1e-8), sign(a) above eps and a / eps
    below it, so every second derivative is exactly 0 unless both operands are below eps. Both
    libraries form them from terms that cancel (x / |x| differentiated twice), and their
    autograd engines sum those in different orders: the noise differs (fuzz seed 376623273,
    x = -1.4e-45 beside w = -1.18, leaf w: handgrad -1.2e-7, torch 0). Accepted where both
    results lie within 32 eps_dtype |g| times the terms' size of 0: (1 / X + 1 / W)^2 per row
    with X = |x|, W = |w| above eps, and 1 / (X W) where one of them is clamped (u linear),
    times 1 + |u| + |v| (the directions the second derivative contracts them with), summed over
    the rows a leaf's element receives; never where both are clamped.

    The same holds for the derivatives by w (leaf 1) where w is constant along dim (of size 1
    there, broadcast over n > 1 elements of x): u(w) = sign(w) / sqrt(n) wherever its row norm
    W = |w| sqrt(n) is above eps, so every derivative by w is exactly 0; X and W are then the
    rows' norms, and never where W is clamped (u(w) is linear there). Inside a program
    (``params['c']``, the second pass's cotangent at the output, ``runner._whole_program``) w's
    value adds c times its first derivative, whose terms are of size |c| / W (fuzz seed
    1709521005: tanh's saturated rows exactly parallel to a 0-d w = 1 under g = 9.1e15 from
    log1p at cos = -1 + 2e-16; the exact 0, handgrad -3.5, torch -5); likewise the cotangent
    at x over one element, |c| / X (fuzz seed 2055508332: after logit of 3.7e-163, handgrad
    -3e138, torch 0, which logit's 1 / x amplifies to -8e300)."""
    if op != "F.cosine_similarity" or what != "grad2" or g is None or isinstance(bad, str):
        return False
    w, dim = params.get("w"), params.get("dim")
    if not isinstance(w, np.ndarray) or x.ndim == 0 or dim is None:
        return False
    try:
        shape = np.broadcast_shapes(x.shape, w.shape)
    except ValueError:
        return False
    n = shape[dim]
    # w constant along dim: its shape, aligned to the right, has size 1 there
    flat_w = w.ndim < len(shape) - dim % len(shape) or w.shape[dim % len(shape) - len(shape)] == 1
    if n != 1 and not (params.get("leaf") == 1 and flat_w):
        return False
    c, eps = 1e-8, np.finfo(x.dtype).eps
    with np.errstate(all="ignore"):
        a = np.abs(np.broadcast_to(x, shape).astype(np.float64))
        b = np.abs(np.broadcast_to(w, shape).astype(np.float64))
        if n != 1:  # the rows' norms, each element's terms sized by them
            a = np.broadcast_to(np.sqrt((a * a).sum(axis=dim, keepdims=True)), shape)
            b = b * np.sqrt(n)
        gg = np.abs(np.expand_dims(g.astype(np.float64), dim))
        clamped_a, clamped_b = a < c, b < c
        big, small = np.maximum(a, c), np.maximum(b, c)
        size = np.where(clamped_a | clamped_b, 1 / (big * small), (1 / big + 1 / small) ** 2)
        never = (clamped_a & clamped_b) | (clamped_b if n != 1 else False)
        noise = np.where(never, 0.0, 32 * eps * gg * size)
        # the terms are contracted with the directions u (at x) and v (at w): a huge u scales
        # them (fuzz seed 101208941: u = -7.9e36 at x = 0.38, handgrad -5.1e30, torch 0)
        dirs = np.ones(shape)
        for d in [params.get("u"), *(params.get("vs") or [])[:1]]:
            if isinstance(d, np.ndarray) and d.size:
                try:
                    dd = np.abs(np.broadcast_to(d.astype(np.float64), shape))
                except ValueError:
                    continue
                dirs = dirs + np.where(np.isfinite(dd), dd, 0.0)
        noise = noise * dirs
        cc = params.get("c")
        if isinstance(cc, np.ndarray) and cc.shape == g.shape and params.get("leaf") in (0, 1):
            cc = np.abs(np.expand_dims(cc.astype(np.float64), dim))
            own = small if params.get("leaf") == 1 else big  # the operand differentiated
            noise = noise + np.where(never, 0.0, 32 * eps * cc / own)
        noise = np.broadcast_to(noise, shape)
        lead = len(shape) - bad.ndim
        if lead < 0:
            return False
        n = noise.sum(axis=tuple(range(lead))) if lead else noise
        axes = tuple(i for i, k in enumerate(bad.shape) if k == 1 and n.shape[i] != 1)
        n = n.sum(axis=axes, keepdims=True) if axes else n
        try:
            n = np.broadcast_to(n, bad.shape)
        except ValueError:
            return False
        ok = np.isfinite(n) & (np.abs(h) <= n) & (np.abs(t) <= n)
        return bool(ok[bad].all())


@accepted
def lp_pool_one_element_noise(op, params, x, what, h, t, bad, g=None):
    """F.lp_pool1d/2d with a kernel of one element: each output is (x^p)^(1/p) = |x|, linear on
    each side of 0, so the exact second derivative is 0. Both libraries form it through torch's
    composition (pow, avg_pool, sign relu, pow 1/p), whose terms of size (p - 1) |g u| / |x|
    cancel, and round them differently (fuzz seed 683984405: float32 x = 3.2e-10 with p = 2,
    handgrad -256, torch 0; beside it x = 4.7e-10, handgrad 0, torch -64). Accepted where both
    lie within 32 eps (|p| + 1) |g u| / |x| (g the upstream gradient of the element's output,
    u the direction at x), at nonzero x."""
    if op not in ("F.lp_pool1d", "F.lp_pool2d") or what != "grad2" or g is None:
        return False
    if isinstance(bad, str) or params.get("leaf", 0) != 0 or params.get("kernel_size") != 1:
        return False
    u, stride, p = params.get("u"), params.get("stride") or 1, params.get("norm_type")
    if not isinstance(u, np.ndarray) or u.shape != x.shape or h.shape != x.shape or p is None:
        return False
    nd = 1 if op.endswith("1d") else 2
    grid = (Ellipsis,) + (slice(None, None, int(stride)),) * nd
    gx = np.zeros(x.shape)
    if gx[grid].shape != np.shape(g):
        return False
    gx[grid] = np.abs(g.astype(np.float64))  # the elements off the stride grid get no gradient
    eps = np.finfo(x.dtype).eps
    with np.errstate(all="ignore"):
        size = 32 * eps * (abs(p) + 1) * gx * np.abs(u.astype(np.float64)) / np.abs(x)
        ok = np.isfinite(size) & (np.abs(h) <= size) & (np.abs(t) <= size)
    return bool(ok[bad].all())


@accepted
def hypot_second_derivative_noise(op, params, x, what, h, t, bad, g=None):
    """hypot's second derivatives where terms of size |g| (|u| + |v|) / r cancel (an operand
    small against r, or 0: hypot(0, w) = |w| is linear, its exact second derivative 0). Both
    libraries form them as torch's graph does (g a / r differentiated), equal element by element,
    but their autograd engines sum the contributions to a broadcast operand in different orders
    (fuzz seed 504936061: w = -1.7e-15 beside x = 0 in float32, summed over 16 rows: exact -0.35
    and 1.15, torch -2.7e8 and 0, handgrad 0 and -1.3e8; the terms' size is 4.8e15). Accepted
    where both results lie within 32 eps |g| (|u| + |v|) / r, summed as the leaf's gradient is,
    of the exact value g (u b^2 - v a b) / r^3 (by a) or g (v a^2 - u a b) / r^3 (by b)."""
    if op != "hypot" or what != "grad2" or g is None or isinstance(bad, str):
        return False
    w, u, vs, leaf = params.get("w"), params.get("u"), params.get("vs"), params.get("leaf")
    if not (isinstance(w, np.ndarray) and isinstance(u, np.ndarray) and vs and leaf in (0, 1)):
        return False
    try:
        a, b, gg, uu, vv = (
            np.broadcast_to(np.asarray(z, np.float64), g.shape) for z in (x, w, g, u, vs[0])
        )
    except ValueError:
        return False
    with np.errstate(all="ignore"):
        r = np.hypot(a, b)
        # over r three times, as ratios of at most 1: r^3 underflows to 0 for r below 1e-103
        # (fuzz seed 1337286796: w = -4e-170 beside x = +-0, whose exact value is 0, not 0 / 0)
        ar, br = a / r, b / r
        if leaf == 0:
            exact = gg * (uu * br * br - vv * ar * br) / r
        else:
            exact = gg * (vv * ar * ar - uu * ar * br) / r
        size = np.abs(gg) * (np.abs(uu) + np.abs(vv)) / r
        ok = np.isfinite(exact) & np.isfinite(size) & (r > 0)
        e, n = _on(np.where(ok, exact, 0.0), bad.shape, np.sum), _on(size, bad.shape, np.sum)
        okl = _on(ok, bad.shape, np.all)
        if e is None or n is None or okl is None:
            return False
        noise = 32 * np.finfo(x.dtype).eps * n
        near = okl & (np.abs(h - e) <= noise) & (np.abs(t - e) <= noise)
        return bool(near[bad].all())


@accepted
def torch_plain_backward_differs(op, params, x, what, h, t, bad, g=None):
    """A first derivative taken without create_graph (``loss.backward()``), where torch's own
    value there differs from the one it gives with a graph, and handgrad's equals the latter:
    torch runs a fused kernel when no graph is recorded (``group_norm``'s forms
    ``sum(g x w) mean - sum(g w x)`` terms that cancel, and over one-element groups leaves
    rounding noise times 1 / sqrt(eps) where the derivative is exactly 0), handgrad the same
    formula either way. ``params['graph']`` holds torch's value with a graph."""
    graph = params.get("graph")
    if what != "grad_plain" or isinstance(bad, str) or graph is None or h is None:
        return False  # (no plain gradient at all, handgrad's None: not this rule; seed 4134211)
    hb, gb = np.asarray(h, np.float64)[bad], np.asarray(graph, np.float64)[bad]
    rtol = 2e-3 if np.asarray(h).dtype == np.float32 else 1e-7
    with np.errstate(invalid="ignore"):
        same = (hb == gb) | (np.isnan(hb) & np.isnan(gb)) | (np.abs(hb - gb) <= rtol * np.abs(gb))
    return bool(same.all())


@accepted
def torch_batch_norm_layout_overflow(op, params, x, what, h, t, bad, g=None):
    """batch_norm on channel-first float32 memory (the fuzzer's F.batch_norm of an odd batch)
    where a channel's sum of squared deviations exceeds float32's range (its variance too at
    values near 1e26, or only the sum at values near 1e19): torch's channel-first
    kernel keeps it (it accumulates in double) and normalizes, its kernel on contiguous memory
    overflows (inf) and returns the bias. handgrad has no memory formats; its value is torch's
    on the same values laid out contiguously (fuzz seed 1312314633, then F.batch_norm_cf)."""
    if op != "F.batch_norm" or what != "forward" or isinstance(bad, str):
        return False
    if x.dtype != np.float32 or x.ndim < 2 or h.shape != x.shape:
        return False
    if x.shape[0] % 2 == 0:
        return False  # the fuzzer gives torch channel-first memory for an odd batch only
    import torch

    ch = np.moveaxis(x.astype(np.float64), 1, 0).reshape(x.shape[1], -1)
    # the channel's sum of squared deviations passes float32's range: its variance (values near
    # 1e26), or only the sum (values near 1e19, whose variance is finite; fuzz seed 1337287556)
    dev = ch - ch.mean(axis=1, keepdims=True)
    wide = (dev * dev).sum(axis=1) > float(np.finfo(np.float32).max)
    in_ch = np.moveaxis(bad, 1, 0).reshape(x.shape[1], -1).any(axis=1)
    if not in_ch.any() or not wide[in_ch].all() or not np.isfinite(ch[in_ch]).all():
        # every differing element in a channel of finite values whose variance overflows
        # float32 (other channels may hold inf or NaN: fuzz seed 123491146)
        return False
    w, wb = (None if params.get(k) is None else torch.tensor(params[k]) for k in ("w", "wb"))
    ref = torch.nn.functional.batch_norm(torch.tensor(x), None, None, w, wb, training=True)
    return bool(np.array_equal(h[bad], ref.numpy()[bad]))


@accepted
def torch_shrink_nan_gradient_path(op, params, x, what, h, t, bad, g=None):
    """A whole program's gradient through softshrink, hardshrink or hardtanh of a NaN (log of a
    negative, fmod by 0 before it): torch's backward passes the upstream gradient at NaN on its
    scalar path (tensors of fewer than 16 float32 or 8 float64 elements, the tail, and
    non-contiguous intermediates) and gives 0 on its vectorised one, which handgrad gives
    everywhere; the leaf before the NaN is finite, so the two paths' gradients differ there (fuzz
    seeds 1312314823: log, chunk, softshrink, maximum; 218307537: mT, sort, fmod, hardtanh).
    ``params['vectorised']`` is torch's own result with those steps run on their input padded
    to whole vector blocks; accepted where handgrad's value equals it."""
    if op != "<program>" or what not in ("grad", "grad2") or isinstance(bad, str):
        return False
    ref = params.get("vectorised")
    if not isinstance(ref, np.ndarray) or ref.shape != bad.shape or h.shape != bad.shape:
        return False
    rtol = 1e-5 if x.dtype == np.float32 else 1e-12
    with np.errstate(invalid="ignore", over="ignore"):
        h64, r64 = h.astype(np.float64), ref.astype(np.float64)
        same = (h64 == r64) | (np.abs(h64 - r64) <= rtol * np.abs(r64))
        same |= np.isnan(h64) & np.isnan(r64)
        return bool(same[bad].all())
