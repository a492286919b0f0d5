"""Parameter containers, padding layers, RMSNorm, Bilinear, channel dropout, the margin and
likelihood losses, and Module lookups, against torch.nn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from nn_helpers import assert_same, run_both
from torch_compare import compare_to_second_order, run

torch.set_num_threads(1)
R = np.random.default_rng(0)
X, Y = R.standard_normal((4, 5)), R.standard_normal((4, 5))
SIGN = np.where(R.random(4) > 0.5, 1.0, -1.0)

LOSSES = [
    (
        "soft_margin_loss",
        lambda L, x: L.nn.functional.soft_margin_loss(x, L.tensor(np.sign(Y))),
        [X],
    ),
    (
        "margin_ranking_loss",
        lambda L, a, b: L.nn.functional.margin_ranking_loss(a, b, L.tensor(SIGN), margin=0.3),
        [X[:, 0].copy(), Y[:, 0].copy()],
    ),
    (
        "hinge_embedding_loss",
        lambda L, x: L.nn.functional.hinge_embedding_loss(
            x, L.tensor(np.sign(Y)), margin=0.5, reduction="sum"
        ),
        [X],
    ),
    (
        "cosine_embedding_loss",
        lambda L, a, b: L.nn.functional.cosine_embedding_loss(a, b, L.tensor(SIGN), margin=-0.2),
        [X, Y],
    ),
    (
        "triplet_margin_loss",
        lambda L, a, p, n: L.nn.functional.triplet_margin_loss(a, p, n),
        [X, Y, X[::-1].copy()],
    ),
    (
        "triplet_margin_loss-swap",
        lambda L, a, p, n: L.nn.functional.triplet_margin_loss(
            a, p, n, margin=2.0, p=1.0, swap=True
        ),
        [X, Y, X[::-1].copy()],
    ),
    (
        "poisson_nll_loss",
        lambda L, x: L.nn.functional.poisson_nll_loss(
            x, L.tensor(np.abs(np.round(Y * 3))), full=True
        ),
        [X],
    ),
    (
        "poisson_nll_loss-rate",
        lambda L, x: L.nn.functional.poisson_nll_loss(
            x, L.tensor(np.abs(np.round(Y * 3))), log_input=False
        ),
        [np.abs(X) + 0.1],
    ),
    (
        "gaussian_nll_loss",
        lambda L, x, v: L.nn.functional.gaussian_nll_loss(x, L.tensor(Y), v, full=True),
        [X, np.abs(Y) + 0.1],
    ),
    (
        "gaussian_nll_loss-vector-var",
        lambda L, x, v: L.nn.functional.gaussian_nll_loss(x, L.tensor(Y), v),
        [X, np.abs(Y[:, 0]) + 0.1],
    ),
    ("rms_norm", lambda L, x, w: L.nn.functional.rms_norm(x, (5,), w, eps=1e-6), [X, Y[0].copy()]),
    (
        "bilinear",
        lambda L, a, b, w, c: L.nn.functional.bilinear(a, b, w, c),
        [X[:, :3].copy(), Y[:, :2].copy(), R.standard_normal((4, 3, 2)), R.standard_normal(4)],
    ),
]


@pytest.mark.parametrize("name, fn, arrays", LOSSES, ids=[c[0] for c in LOSSES])
def test_functions_match_torch_to_second_order(name, fn, arrays):
    compare_to_second_order(name, *run(fn, arrays))


@pytest.mark.parametrize(
    "name, args, shape",
    [
        ("ZeroPad2d", ((1, 2, 0, 1),), (1, 2, 3, 4)),
        ("ConstantPad1d", (2, 3.5), (2, 3)),
        ("ReflectionPad2d", (2,), (1, 2, 3, 4)),
        ("ReplicationPad1d", ((1, 3),), (2, 2, 3)),
        ("CircularPad2d", (1,), (1, 1, 3, 3)),
        ("RMSNorm", (5,), (3, 5)),
        ("Bilinear", (3, 3, 2), None),
        ("ZeroPad1d", (1,), (2, 3)),
    ],
    ids=lambda v: str(v),
)
def test_modules_match_torch(name, args, shape):
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, name)(*args).double()
    h_mod = getattr(hg.nn, name)(*args).to(np.float64)
    xs = (
        [R.standard_normal((2, 3)), R.standard_normal((2, 3))]
        if shape is None
        else [R.standard_normal(shape)]
    )
    out = run_both(h_mod, t_mod, xs)
    assert_same(h_mod, t_mod, *out, what=name)


def test_parameter_containers_register_like_torch():
    h = hg.nn.Module()
    h.plist = hg.nn.ParameterList([hg.ones(2), hg.zeros(3)])
    h.pdict = hg.nn.ParameterDict({"a": hg.ones(1), "b": hg.ones(2, 2)})
    t = torch.nn.Module()
    t.plist = torch.nn.ParameterList([torch.ones(2), torch.zeros(3)])
    t.pdict = torch.nn.ParameterDict({"a": torch.ones(1), "b": torch.ones(2, 2)})
    assert list(h.state_dict()) == list(t.state_dict())
    assert all(p.requires_grad for p in h.parameters()) and len(list(h.parameters())) == 4
    assert h.plist[1].shape == (3,) and "b" in h.pdict and len(h.pdict) == 2
    assert h.get_parameter("pdict.b").shape == (2, 2)
    assert h.get_submodule("plist") is h.plist
    with pytest.raises(AttributeError, match=r"get_submodule: Module has no submodule 'nope'"):
        h.get_submodule("nope.x")


def test_channel_dropout_zeroes_whole_channels():
    hg.manual_seed(0)
    x = hg.ones(64, 8, 5, 5)
    y = hg.nn.Dropout2d(0.5)(x).numpy()
    per_channel = y.reshape(64, 8, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    frac = (per_channel[..., 0] == 0).mean()
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / per_channel[..., 0].size)
    m = hg.nn.Dropout1d(0.3)
    m.eval()
    np.testing.assert_array_equal(m(hg.ones(2, 3, 4)).numpy(), np.ones((2, 3, 4)))


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: hg.nn.functional.rms_norm(hg.ones(2, 3), (4,)),
            RuntimeError,
            r"rms_norm: normalized_shape \(4,\) does not match",
        ),
        (
            lambda: hg.nn.functional.bilinear(hg.ones(2, 3), hg.ones(2, 2), hg.ones(4, 2, 2)),
            RuntimeError,
            r"bilinear: inputs \(2, 3\) and \(2, 2\) do not fit weight \(4, 2, 2\)",
        ),
        (
            lambda: hg.nn.functional.gaussian_nll_loss(hg.ones(2), hg.ones(2), -hg.ones(2)),
            ValueError,
            r"gaussian_nll_loss: var has negative entries",
        ),
        (
            lambda: hg.nn.functional.dropout1d(hg.ones(2), 0.5),
            RuntimeError,
            r"dropout1d: expected a 2-D or 3-D input",
        ),
        (
            lambda: hg.nn.ZeroPad2d((1, 2)),
            ValueError,
            r"ZeroPad2d: padding must be an int or 4 ints",
        ),
    ],
)
def test_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("shape", [(6, 40), (5, 4, 30), (2, 3, 4, 5, 6)])
def test_dropout2d_on_other_ranks_warns_and_drops_as_torch(shape):
    """torch 2.13: a 2-D input warns and gets element dropout, a 3-D one is (N, C, L) with a
    warning, 5-D warns; each (n, c) slice is kept or dropped as a whole."""
    import warnings

    import torch

    for lib in (hg, torch):
        lib.manual_seed(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = lib.nn.Dropout2d(0.5)(lib.ones(*shape)).numpy()
        messages = [str(w.message) for w in caught]
        if lib is hg:
            ours = messages
        else:
            assert ours == messages
        slices = y.reshape(shape[0] * shape[1], -1)
        assert np.all((slices == 0).all(-1) | (slices == 2.0).all(-1))
        assert 0 < (slices[:, 0] == 0).sum() < len(slices)


def test_dropout2d_on_a_vector_warns_then_refuses_when_training_as_torch():
    with (
        pytest.warns(UserWarning, match="Received a 1-D input"),
        pytest.raises(RuntimeError, match="at least 2 dimensions"),
    ):
        hg.nn.functional.dropout2d(hg.ones(3), 0.5)
    with pytest.warns(UserWarning, match="Received a 1-D input"):
        out = hg.nn.functional.dropout2d(hg.ones(3), 0.5, training=False)
    np.testing.assert_array_equal(out.numpy(), np.ones(3))
