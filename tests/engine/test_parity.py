"""Every primitive against PyTorch (values, gradients, second derivatives; float32 and float64)
and against central finite differences in float64, on hypothesis-generated inputs.

The cases live in tests/cases/, keyed by the primitive's registry name; a primitive without a
case fails ``test_every_primitive_has_a_parity_case``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import handgrad as hg
from handgrad.autograd import PRIMITIVES

from cases import CASES

torch.set_num_threads(1)
CASE_IDS = [(name, i) for name in sorted(CASES) for i in range(len(CASES[name]))]


def test_every_primitive_has_a_parity_case():
    missing = sorted(set(PRIMITIVES) - set(CASES))
    assert not missing, f"primitives without a parity case in tests/cases/: {missing}"
    unknown = sorted(set(CASES) - set(PRIMITIVES))
    assert not unknown, f"parity cases for names that are not primitives: {unknown}"


def _to_lib(lib, arrays, dtype, requires_grad):
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(dtype)
            t = hg.tensor(a) if lib is hg else torch.tensor(a)
            t.requires_grad_(requires_grad)
        else:
            t = hg.tensor(a) if lib is hg else torch.tensor(a)
        out.append(t)
    return out


def _np(t):
    if t is None:
        return None
    return t.detach().numpy() if isinstance(t, hg.Tensor) else t.detach().numpy(force=True)


def _close(name, what, got, want, tol):
    if got is None and want is None:
        return
    want = np.zeros_like(got) if want is None else want
    got = np.zeros_like(want) if got is None else got
    assert got.shape == want.shape, f"{name}: {what} shape {got.shape} != torch {want.shape}"
    assert got.dtype == want.dtype, f"{name}: {what} dtype {got.dtype} != torch {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=tol[0], atol=tol[1], err_msg=f"{name}: {what}")


def _graph_names(t):
    names, stack, seen = set(), [t._ctx], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.add(fn.name)
        stack.extend(x._ctx for x in fn.inputs)
    return names


def _check(name, case, arrays, params, dtype):
    tol = case.tol32 if dtype == np.float32 else case.tol64
    second = case.second and case.grad and dtype == np.float64
    hs = _to_lib(hg, arrays, dtype, case.grad)
    ts = _to_lib(torch, arrays, dtype, case.grad)
    out_h = case.fn(hg, *hs, **params)
    out_t = case.fn(torch, *ts, **params)
    _close(name, "value", _np(out_h), _np(out_t), tol)
    if not case.grad:
        return set()
    applied = _graph_names(out_h)
    diff_h = [t for t in hs if t.requires_grad]
    diff_t = [t for t in ts if t.requires_grad]
    g = np.random.default_rng(1).standard_normal(out_t.shape).astype(_np(out_t).dtype)
    gh = hg.grad(out_h, diff_h, hg.tensor(g), create_graph=second, allow_unused=True)
    gt = torch.autograd.grad(out_t, diff_t, torch.tensor(g), create_graph=second, allow_unused=True)
    for k, (a, b) in enumerate(zip(gh, gt)):
        _close(name, f"gradient of input {k}", _np(a), _np(b), tol)
    if not second:
        return applied
    rng = np.random.default_rng(2)
    vs = [rng.standard_normal(t.shape) for t in diff_t]
    sh = sum((a * hg.tensor(v)).sum() for a, v in zip(gh, vs) if a is not None)
    st_ = sum((b * torch.tensor(v)).sum() for b, v in zip(gt, vs) if b is not None)
    if not (isinstance(st_, torch.Tensor) and st_.requires_grad):
        return applied  # linear in the inputs: torch has no second-order graph either
    g2t = torch.autograd.grad(st_, diff_t, allow_unused=True)
    if isinstance(sh, hg.Tensor) and sh.requires_grad:
        g2h = hg.grad(sh, diff_h, allow_unused=True)
    else:
        g2h = [None] * len(diff_h)
    for k, (a, b) in enumerate(zip(g2h, g2t)):
        _close(name, f"second derivative of input {k}", _np(a), _np(b), tol)
    return applied


@pytest.mark.parametrize("name,i", CASE_IDS, ids=[f"{n}-{i}" for n, i in CASE_IDS])
def test_parity_with_torch(name, i):
    case = CASES[name][i]
    applied = set()

    @given(st.data())
    def run(data):
        arrays, params = case.draw(data)
        for dtype in (np.float32, np.float64):
            applied.update(_check(name, case, arrays, params, dtype))

    run()
    if case.grad:
        assert name in applied, f"the case for {name!r} never applied that primitive"


FD_IDS = [(n, i) for n, i in CASE_IDS if CASES[n][i].fd]


@pytest.mark.parametrize("name,i", FD_IDS, ids=[f"{n}-{i}" for n, i in FD_IDS])
def test_finite_differences(name, i):
    case = CASES[name][i]

    @given(st.data())
    def run(data):
        arrays, params = case.draw(data)
        inputs = _to_lib(hg, arrays, np.float64, True)
        report = hg.gradcheck(lambda *xs: case.fn(hg, *xs, **params), inputs)
        assert report, str(report)

    run()
