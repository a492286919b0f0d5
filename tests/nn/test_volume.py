"""conv3d, max_pool3d, avg_pool3d and their layers against torch: values and gradients (and
second order for conv3d) on random geometries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import handgrad as hg

from nn_helpers import assert_same, run_both
from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)


@st.composite
def conv3d_problem(draw):
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = tuple(draw(st.integers(1, 2)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, 1)) for _ in range(3))
    size = tuple((ki - 1) * di + 1 + draw(st.integers(0, 2)) for ki, di in zip(k, d))
    groups = draw(st.sampled_from([1, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    return k, s, d, p, size, groups, seed, draw(st.booleans())


@settings(max_examples=15, deadline=None)
@given(conv3d_problem())
def test_conv3d_matches_torch(problem):
    k, s, d, p, size, groups, seed, bias = problem
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal((2, 2 * groups) + size), r.standard_normal((2 * groups, 2) + k)]
    if bias:
        arrays.append(r.standard_normal(2 * groups))
    compare_to_second_order(
        "conv3d",
        *run(
            lambda L, *a: L.nn.functional.conv3d(
                *a, stride=s, padding=p, dilation=d, groups=groups
            ),
            arrays,
        ),
    )


@settings(max_examples=15, deadline=None)
@given(conv3d_problem(), st.data())
def test_conv_transpose3d_matches_torch(problem, data):
    k, s, d, p, size, groups, seed, bias = problem
    op = tuple(data.draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    p = tuple(min(pi, (ki - 1) * di) for pi, ki, di in zip(p, k, d))  # output stays non-empty
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal((2, 2 * groups) + size), r.standard_normal((2 * groups, 2) + k)]
    if bias:
        arrays.append(r.standard_normal(2 * groups))
    compare_to_second_order(
        "conv_transpose3d",
        *run(
            lambda L, *a: L.nn.functional.conv_transpose3d(
                *a, stride=s, padding=p, output_padding=op, groups=groups, dilation=d
            ),
            arrays,
        ),
    )


@pytest.mark.parametrize(
    "name, args",
    [
        ("ConvTranspose3d", (2, 3, (2, 3, 2), 2, 1, 1)),
        ("MaxPool3d", ((2, 3, 2), (1, 2, 2), (1, 1, 0))),
        ("MaxPool3d", (2,)),
        ("AvgPool3d", (2, None, 1)),
        ("AvgPool3d", ((3, 2, 2), (2, 1, 2))),
        ("Conv3d", (2, 3, (2, 3, 2), 1, (1, 0, 1))),
        ("Conv3d", (2, 4, 3, 1, 1, 1, 2, True, "reflect")),
    ],
    ids=lambda v: str(v),
)
def test_layers_match_torch(name, args):
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, name)(*args).double()
    h_mod = getattr(hg.nn, name)(*args).to(np.float64)
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 6, 4))
    out = run_both(h_mod, t_mod, [x])
    assert_same(h_mod, t_mod, *out, what=name)


def test_unbatched_and_errors():
    x = np.random.default_rng(2).standard_normal((2, 4, 4, 4))
    w = np.random.default_rng(3).standard_normal((3, 2, 2, 2, 2))
    np.testing.assert_allclose(
        hg.nn.functional.conv3d(hg.tensor(x), hg.tensor(w)).numpy(),
        torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w)).numpy(),
        rtol=1e-12,
    )
    with pytest.raises(RuntimeError, match=r"conv3d: expected a 4-D \(C, D, H, W\) or 5-D"):
        hg.nn.functional.conv3d(hg.ones(2, 3, 3), hg.tensor(w))
    with pytest.raises(RuntimeError, match=r"conv3d: input has 3 channels but weight expects 2"):
        hg.nn.functional.conv3d(hg.ones(1, 3, 4, 4, 4), hg.tensor(w))
    with pytest.raises(RuntimeError, match=r"conv3d: depth 1 is too small for a kernel of 2 taps"):
        hg.nn.functional.conv3d(hg.ones(1, 2, 1, 4, 4), hg.tensor(w))
    with pytest.raises(ValueError, match=r"max_pool3d: padding \(2, 0, 0\) must be at most half"):
        hg.nn.functional.max_pool3d(hg.ones(1, 1, 4, 4, 4), 2, padding=(2, 0, 0))
