"""Shared by the nn tests: run the same layer in handgrad and PyTorch with the same weights
(copied with ``hg.load_torch_state_dict``) and compare outputs, input gradients, parameter
gradients and buffers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import handgrad as hg

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


@contextlib.contextmanager
def blas_pool(threads: int) -> Iterator[None]:
    """NumPy's BLAS pool limited to ``threads`` for the block (``threadpoolctl``); the test is
    skipped where threadpoolctl is missing or the BLAS has fewer threads."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(threads, user_api="blas"):
        if hg.get_num_threads() < threads:
            pytest.skip("NumPy's BLAS has no second thread here")
        yield


def to_np(t):
    if t is None:
        return None
    if isinstance(t, hg.Tensor):
        return t.detach().numpy()
    return t.detach().cpu().numpy()


def run_both(h_mod, t_mod, arrays, dtype=np.float64, grad_inputs=True, seed=0, copy=True):
    """Forward both modules on the same inputs (float arrays require grad) and back-propagate the
    same random output gradient. Returns (hg_out, torch_out, hg_inputs, torch_inputs)."""
    if copy:
        hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    hs, ts = [], []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(dtype)
            h, t = hg.tensor(a), torch.tensor(a)
            if grad_inputs:
                h.requires_grad_(True)
                t.requires_grad_(True)
        else:
            h, t = hg.tensor(a), torch.tensor(a)
        hs.append(h)
        ts.append(t)
    out_h, out_t = h_mod(*hs), t_mod(*ts)
    g = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(to_np(out_t).dtype)
    if out_t.requires_grad:
        out_t.backward(torch.tensor(g))
        out_h.backward(hg.tensor(g))
    return out_h, out_t, hs, ts


def assert_same(h_mod, t_mod, out_h, out_t, hs, ts, dtype=np.float64, what=""):
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(to_np(out_h), to_np(out_t), **tol, err_msg=f"{what} output")
    for i, (h, t) in enumerate(zip(hs, ts)):
        if t.requires_grad:
            np.testing.assert_allclose(
                to_np(h.grad), to_np(t.grad), **tol, err_msg=f"{what} gradient of input {i}"
            )
    t_params = dict(t_mod.named_parameters())
    for name, p in h_mod.named_parameters():
        tp = t_params[name]
        if tp.grad is None:
            assert p.grad is None or not np.any(to_np(p.grad)), f"{what} {name}: torch has no grad"
            continue
        np.testing.assert_allclose(
            to_np(p.grad), to_np(tp.grad), **tol, err_msg=f"{what} gradient of {name}"
        )
    t_state = t_mod.state_dict()
    for name, b in h_mod.state_dict().items():
        np.testing.assert_allclose(
            to_np(b), to_np(t_state[name]), **tol, err_msg=f"{what} state {name}"
        )
