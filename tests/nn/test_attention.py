"""scaled_dot_product_attention and MultiheadAttention against torch: outputs, attention weights
and all gradients, with the mask conventions of each (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

from nn_helpers import blas_pool

torch.set_num_threads(1)
R = np.random.default_rng(0)


def _pair(arrays):
    hs = [hg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    return hs, ts


def _check_grads(out_h, out_t, hs, ts, params=()):
    np.testing.assert_allclose(
        out_h.detach().numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    g = R.standard_normal(tuple(out_t.shape))
    out_h.backward(hg.tensor(g))
    out_t.backward(torch.tensor(g))
    for h, t in list(zip(hs, ts)) + list(params):
        if t.requires_grad:
            np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_sdpa_matches_torch(mask):
    q, k, v = (
        R.standard_normal((2, 3, 4, 5)),
        R.standard_normal((2, 3, 6, 5)),
        R.standard_normal((2, 3, 6, 2)),
    )
    extra = {}
    arrays = [q, k, v]
    if mask == "bool":
        m = R.random((4, 6)) > 0.3
        m[:, 0] = True  # every query sees at least one key
        arrays.append(m)
    elif mask == "float":
        arrays.append(R.standard_normal((2, 1, 4, 6)))
    elif mask == "causal":
        extra["is_causal"] = True
    hs, ts = _pair(arrays)
    kw_h = dict(attn_mask=hs[3] if len(hs) > 3 else None, **extra)
    kw_t = dict(attn_mask=ts[3] if len(ts) > 3 else None, **extra)
    out_h = hg.nn.functional.scaled_dot_product_attention(*hs[:3], **kw_h)
    out_t = torch.nn.functional.scaled_dot_product_attention(*ts[:3], **kw_t)
    _check_grads(out_h, out_t, hs, ts)


CONFIGS = [
    dict(),
    dict(batch_first=True),
    dict(unbatched=True),
    dict(bias=False),
    dict(attn_mask="bool"),
    dict(attn_mask="float3"),
    dict(key_padding_mask=True),
    dict(average=False),
    dict(kdim=3, vdim=5),
    dict(need_weights=False),
    dict(batch_first=True, key_padding_mask=True, attn_mask="bool"),
    # without weights the fused primitive runs (ops/attention.py), masks added into one
    dict(need_weights=False, key_padding_mask=True, attn_mask="bool"),
    dict(need_weights=False, attn_mask="float3", batch_first=True),
    dict(need_weights=False, unbatched=True, kdim=3, vdim=5),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_multihead_attention_matches_torch(cfg):
    e, h, n, lq, s = 8, 2, 3, 4, 5
    kw = dict(
        bias=cfg.get("bias", True),
        batch_first=cfg.get("batch_first", False),
        kdim=cfg.get("kdim"),
        vdim=cfg.get("vdim"),
    )
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(e, h, **kw).double()
    h_mod = hg.nn.MultiheadAttention(e, h, **kw, dtype=np.float64)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    kd, vd = cfg.get("kdim", e), cfg.get("vdim", e)
    if cfg.get("unbatched"):
        shapes = [(lq, e), (s, kd), (s, vd)]
    elif kw["batch_first"]:
        shapes = [(n, lq, e), (n, s, kd), (n, s, vd)]
    else:
        shapes = [(lq, n, e), (s, n, kd), (s, n, vd)]
    hs, ts = _pair([R.standard_normal(sh) for sh in shapes])
    extra_h, extra_t = {}, {}
    if cfg.get("attn_mask") == "bool":
        m = R.random((lq, s)) > 0.6
        m[:, 0] = False  # True = masked out in MultiheadAttention
        extra_h["attn_mask"], extra_t["attn_mask"] = hg.tensor(m), torch.tensor(m)
    if cfg.get("attn_mask") == "float3":
        m = R.standard_normal((n * h, lq, s))
        extra_h["attn_mask"], extra_t["attn_mask"] = hg.tensor(m), torch.tensor(m)
    if cfg.get("key_padding_mask"):
        m = np.zeros((n, s), bool)
        m[0, -2:] = True
        extra_h["key_padding_mask"], extra_t["key_padding_mask"] = hg.tensor(m), torch.tensor(m)
    for key in ("need_weights",):
        if key in cfg:
            extra_h[key] = extra_t[key] = cfg[key]
    if "average" in cfg:
        extra_h["average_attn_weights"] = extra_t["average_attn_weights"] = cfg["average"]
    out_h, w_h = h_mod(*hs, **extra_h)
    out_t, w_t = t_mod(*ts, **extra_t)
    if cfg.get("need_weights") is False:
        assert w_h is None and w_t is None
    else:
        np.testing.assert_allclose(
            w_h.detach().numpy(), w_t.detach().numpy(), rtol=1e-10, atol=1e-12
        )
    tp = dict(t_mod.named_parameters())
    assert [k for k, _ in h_mod.named_parameters()] == list(tp)
    _check_grads(out_h, out_t, hs, ts, [(p, tp[k]) for k, p in h_mod.named_parameters()])


def _primitives(t):
    names, stack, seen = set(), [t._ctx], set()
    while stack:
        fn = stack.pop()
        if fn is not None and id(fn) not in seen:
            seen.add(id(fn))
            names.add(fn.name)
            stack.extend(x._ctx for x in fn.inputs)
    return names


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_fuses_only_without_weights(need_weights):
    """The fused primitive serves the Transformer's call (no weights wanted); asking for the
    weights composes softmax and matmul, and both give the same output."""
    mod = hg.nn.MultiheadAttention(8, 2, batch_first=True, dtype=np.float64)
    x = hg.tensor(R.standard_normal((3, 4, 8)), requires_grad=True)
    out, _ = mod(x, x, x, need_weights=need_weights)
    fused = "multi_head_attention" in _primitives(out)
    assert fused is not need_weights
    other, _ = mod(x, x, x, need_weights=not need_weights)
    np.testing.assert_allclose(out.detach().numpy(), other.detach().numpy(), rtol=1e-12)


def test_fused_attention_second_derivatives_match_torch():
    """create_graph through the fused primitive (its recorded backward) against torch's."""
    q, k, v = (R.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    hs, ts = _pair([q, k, v])
    out_h = hg.nn.functional.scaled_dot_product_attention(*hs, is_causal=False)
    out_t = torch.nn.functional.scaled_dot_product_attention(*ts)
    assert "scaled_dot_product_attention" in _primitives(out_h)
    gh = hg.autograd.grad((out_h**2).sum(), hs, create_graph=True)
    gt = torch.autograd.grad((out_t**2).sum(), ts, create_graph=True)
    g2h = hg.autograd.grad(sum((a**2).sum() for a in gh), hs)
    g2t = torch.autograd.grad(sum((a**2).sum() for a in gt), ts)
    for a, b in zip(list(gh) + list(g2h), list(gt) + list(g2t)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-11)


def test_causal_mask_blocks_the_future():
    hg.manual_seed(0)
    mha = hg.nn.MultiheadAttention(4, 2)
    x = hg.randn(5, 1, 4)
    _, w = mha(x, x, x, is_causal=True)
    assert np.all(np.triu(w.detach().numpy()[0], 1) == 0)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: hg.nn.MultiheadAttention(6, 4),
            ValueError,
            r"MultiheadAttention: embed_dim=6 must be divisible by num_heads=4",
        ),
        (
            lambda: hg.nn.MultiheadAttention(4, 2)(
                hg.ones(3, 1, 4), hg.ones(3, 1, 5), hg.ones(3, 1, 4)
            ),
            ValueError,
            r"MultiheadAttention: expected query/key/value features 4/4/4",
        ),
        (
            lambda: hg.nn.MultiheadAttention(4, 2)(
                hg.ones(3, 1, 4),
                hg.ones(3, 1, 4),
                hg.ones(3, 1, 4),
                key_padding_mask=hg.ones(1, 2).bool(),
            ),
            ValueError,
            r"MultiheadAttention: key_padding_mask of shape \(1, 2\); expected \(1, 3\)",
        ),
        (
            lambda: hg.nn.functional.scaled_dot_product_attention(
                hg.ones(2, 3), hg.ones(2, 4), hg.ones(2, 3)
            ),
            RuntimeError,
            r"scaled_dot_product_attention: query \(2, 3\), key \(2, 4\)",
        ),
    ],
)
def test_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def _second_order(lib, arrays, **kw):
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = lib.nn.functional.scaled_dot_product_attention(*ts, **kw)
    gs = lib.autograd.grad((out**2).sum(), ts, create_graph=True)
    g2 = lib.autograd.grad(sum((g**2).sum() for g in gs), ts)
    return [out.detach().numpy()] + [g.detach().numpy() for g in list(gs) + list(g2)]


@pytest.mark.parametrize("mask_grad", [False, True], ids=["fused", "composed"])
def test_sdpa_query_that_sees_no_key_gives_zeros_as_torch(mask_grad):
    """torch's SDPA gives a fully masked row weights 0 (_safe_softmax), not NaN: output and
    gradients to second order are 0 there, in the fused primitive and in the composition (a
    float mask that takes a gradient)."""
    q, k, v = (R.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    m = np.where(R.random((3, 5)) < 0.4, -np.inf, 0.0)
    m[1] = -np.inf  # query 1 sees no key
    m[0, 0] = m[2, 0] = 0.0
    runs = []
    for lib in (hg, torch):
        mask = lib.tensor(m, requires_grad=mask_grad)
        runs.append(_second_order(lib, [q, k, v], attn_mask=mask))
    for a, b in zip(*runs):
        assert not np.isnan(a).any()
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert (runs[0][0][:, 1] == 0).all()


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_all_keys_padded_as_torch(need_weights):
    """A sequence whose keys are all padding: torch's MultiheadAttention gives 0 through SDPA
    when no weights are asked for, and NaN through its plain softmax when they are."""
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    h_mod = hg.nn.MultiheadAttention(4, 2, batch_first=True, dtype=np.float64)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    x = R.standard_normal((2, 3, 4))
    pad = np.array([[True, True, True], [False, True, False]])
    outs = []
    for lib, mod in ((hg, h_mod), (torch, t_mod)):
        t = lib.tensor(x, requires_grad=True)
        out, _ = mod(t, t, t, key_padding_mask=lib.tensor(pad), need_weights=need_weights)
        out.sum().backward()
        outs.append([out.detach().numpy(), t.grad.numpy()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11, equal_nan=True)
    assert bool(np.isnan(outs[0][0][0]).all()) is need_weights


def test_fused_attention_gives_the_same_bits_on_two_threads(monkeypatch):
    """The heads are shared among the BLAS pool's threads (each_part); a head's arithmetic does
    not depend on the thread, so one and two threads agree bit for bit, forward and backward."""
    from handgrad.ops import attention

    monkeypatch.setattr(attention, "_PARALLEL_ELEMENTS", 1)
    q, k, v = (R.standard_normal(s).astype(np.float32) for s in ((5, 4, 3), (5, 6, 3), (5, 6, 2)))
    g = R.standard_normal((5, 4, 2)).astype(np.float32)
    mask = R.random((4, 6)) > 0.3
    mask[:, 0] = True
    mask[2] = False  # a query that sees no key
    runs = []
    for threads in (1, 2):
        with blas_pool(threads):
            hs = [hg.tensor(a, requires_grad=True) for a in (q, k, v)]
            out = hg.nn.functional.scaled_dot_product_attention(*hs, attn_mask=hg.tensor(mask))
            out.backward(hg.tensor(g))
            runs.append([out.detach().numpy()] + [t.grad.numpy() for t in hs])
    for a, c in zip(*runs):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("packed", [True, False], ids=["self", "kdim"])
def test_multihead_attention_fused_second_derivatives_match_composed(packed):
    """create_graph through the heads primitive (its recorded backward, on the packed projection
    of self-attention or on three projections) against the composed attention (asked for its
    weights), whose parts are each checked against torch: gradients and second derivatives."""
    kw = dict(batch_first=True, dtype=np.float64) | ({} if packed else dict(kdim=3, vdim=5))
    hg.manual_seed(0)
    mod = hg.nn.MultiheadAttention(8, 2, **kw)
    shapes = [(3, 4, 8)] * 3 if packed else [(3, 4, 8), (3, 6, 3), (3, 6, 5)]
    arrays = [R.standard_normal(s) for s in shapes]
    pad = np.zeros((3, 4 if packed else 6), bool)
    pad[1, -1] = True
    runs = []
    for need_weights in (False, True):
        xs = [hg.tensor(a, requires_grad=True) for a in arrays]
        args = (xs[0], xs[0], xs[0]) if packed else xs
        xs = xs[:1] if packed else xs
        out, _ = mod(*args, need_weights=need_weights, key_padding_mask=hg.tensor(pad))
        assert ("multi_head_attention" in _primitives(out)) is not need_weights
        params = list(mod.parameters())
        gs = hg.autograd.grad((out**2).sum(), xs + params, create_graph=True)
        g2 = hg.autograd.grad(sum((g**2).sum() for g in gs), xs + params)
        runs.append([out.detach().numpy()] + [g.detach().numpy() for g in list(gs) + list(g2)])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_multihead_fused_attention_gives_the_same_bits_on_two_threads(monkeypatch):
    """The heads primitive shares its batch items among the BLAS pool's threads: one and two
    threads agree bit for bit, forward and backward (float32, a query that sees no key)."""
    from handgrad.ops import attention

    monkeypatch.setattr(attention, "_PARALLEL_ELEMENTS", 1)
    qkv = R.standard_normal((5, 4, 3 * 6)).astype(np.float32)
    g = R.standard_normal((5, 4, 6)).astype(np.float32)
    mask = np.where(R.random((5, 3, 1, 4)) > 0.3, 0.0, -np.inf).astype(np.float32)
    mask[2, 1] = -np.inf  # the queries of head 1 of item 2 see no key
    runs = []
    for threads in (1, 2):
        with blas_pool(threads):
            x = hg.tensor(qkv, requires_grad=True)
            out = attention.MultiHeadAttention.apply(x, heads=3, scale=0.5, mask=mask)
            out.backward(hg.tensor(g))
            runs.append([out.detach().numpy(), x.grad.numpy()])
    assert not np.isnan(runs[0][1]).any()
    for a, c in zip(*runs):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_without_keys_as_torch(need_weights):
    """An empty key sequence (S = 0): every query attends to nothing, so the output is out_proj
    of zeros, as torch's, with or without the (empty) weights; the composed path used to fail
    to infer a reshape's -1 from zero elements."""
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    torch.nn.init.normal_(t_mod.out_proj.bias)
    h_mod = hg.nn.MultiheadAttention(8, 2, batch_first=True, dtype=np.float64)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    q, kv = R.standard_normal((3, 4, 8)), R.standard_normal((3, 0, 8))
    runs = []
    for lib, mod in ((hg, h_mod), (torch, t_mod)):
        tq, tkv = lib.tensor(q, requires_grad=True), lib.tensor(kv, requires_grad=True)
        out, w = mod(tq, tkv, tkv, need_weights=need_weights)
        (out**2).sum().backward()
        runs.append([out.detach().numpy(), tq.grad.numpy(), mod.out_proj.bias.grad.numpy()])
        runs[-1] += [] if w is None else [w.detach().numpy()]
    for a, b in zip(*runs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
