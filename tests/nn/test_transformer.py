"""TransformerEncoderLayer / TransformerEncoder against torch with the same weights (dropout 0,
train mode so that torch takes its reference path): outputs and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)


@pytest.mark.parametrize(
    "cfg",
    [
        dict(),
        dict(norm_first=True),
        dict(batch_first=True, activation="gelu"),
        dict(padding=True),
        dict(causal=True, layers=2, final_norm=True),
    ],
    ids=str,
)
def test_encoder_matches_torch(cfg):
    d, heads, ff, steps, n = 8, 2, 16, 5, 3
    kw = dict(
        dim_feedforward=ff,
        dropout=0.0,
        norm_first=cfg.get("norm_first", False),
        batch_first=cfg.get("batch_first", False),
        activation=cfg.get("activation", "relu"),
    )
    torch.manual_seed(0)
    layers = cfg.get("layers", 1)
    t_layer = torch.nn.TransformerEncoderLayer(d, heads, **kw).double()
    h_layer = hg.nn.TransformerEncoderLayer(d, heads, **kw, dtype=np.float64)
    t_mod = torch.nn.TransformerEncoder(
        t_layer,
        layers,
        enable_nested_tensor=False,
        norm=torch.nn.LayerNorm(d).double() if cfg.get("final_norm") else None,
    )
    h_mod = hg.nn.TransformerEncoder(
        h_layer,
        layers,
        norm=hg.nn.LayerNorm(d, dtype=np.float64) if cfg.get("final_norm") else None,
    )
    with torch.no_grad():  # different weights in every layer, so the copy is really tested
        for p in t_mod.parameters():
            p.add_(0.1 * torch.randn_like(p))
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    t_mod.train()
    h_mod.train()
    shape = (n, steps, d) if kw["batch_first"] else (steps, n, d)
    x = np.random.default_rng(1).standard_normal(shape)
    xh, xt = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    extra_h, extra_t = {}, {}
    if cfg.get("padding"):
        m = np.zeros((n, steps), bool)
        m[1, -2:] = True
        extra_h["src_key_padding_mask"] = hg.tensor(m)
        extra_t["src_key_padding_mask"] = torch.tensor(m)
    if cfg.get("causal"):
        m = np.triu(np.ones((steps, steps), bool), 1)
        extra_h.update(mask=hg.tensor(m), is_causal=True)
        extra_t.update(mask=torch.tensor(m), is_causal=True)
    out_h, out_t = h_mod(xh, **extra_h), t_mod(xt, **extra_t)
    np.testing.assert_allclose(
        out_h.detach().numpy(), out_t.detach().numpy(), rtol=1e-9, atol=1e-11
    )
    g = np.random.default_rng(2).standard_normal(shape)
    out_h.backward(hg.tensor(g))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    tp = dict(t_mod.named_parameters())
    names = [k for k, _ in h_mod.named_parameters()]
    assert names == list(tp)
    for k, p in h_mod.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tp[k].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=k
        )


def test_bad_activation_and_layer_count():
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer: activation must be"):
        hg.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match=r"TransformerEncoder: num_layers must be >= 1, got 0"):
        hg.nn.TransformerEncoder(hg.nn.TransformerEncoderLayer(8, 2), 0)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")  # torch's own fast-path notice
@pytest.mark.parametrize(
    "cfg", [dict(), dict(norm_first=True, batch_first=True), dict(masks=True)], ids=str
)
def test_full_transformer_matches_torch(cfg):
    d, heads, ff, s_len, t_len, n = 8, 2, 16, 5, 4, 2
    kw = dict(
        d_model=d,
        nhead=heads,
        num_encoder_layers=2,
        num_decoder_layers=2,
        dim_feedforward=ff,
        dropout=0.0,
        norm_first=cfg.get("norm_first", False),
        batch_first=cfg.get("batch_first", False),
    )
    torch.manual_seed(0)
    t_mod = torch.nn.Transformer(**kw).double()
    h_mod = hg.nn.Transformer(**kw, dtype=np.float64)
    hg.load_torch_state_dict(h_mod, t_mod.state_dict())
    t_mod.train()
    r = np.random.default_rng(3)
    bf = kw["batch_first"]
    src = r.standard_normal((n, s_len, d) if bf else (s_len, n, d))
    tgt = r.standard_normal((n, t_len, d) if bf else (t_len, n, d))
    hs, ts = (
        [hg.tensor(a, requires_grad=True) for a in (src, tgt)],
        [torch.tensor(a, requires_grad=True) for a in (src, tgt)],
    )
    extra_h, extra_t = {}, {}
    if cfg.get("masks"):
        causal_h = hg.nn.Transformer.generate_square_subsequent_mask(t_len, dtype=np.float64)
        causal_t = torch.nn.Transformer.generate_square_subsequent_mask(t_len, dtype=torch.float64)
        np.testing.assert_array_equal(causal_h.numpy(), causal_t.numpy())
        pad = np.zeros((n, s_len), bool)
        pad[0, -1] = True
        extra_h = dict(
            tgt_mask=causal_h,
            src_key_padding_mask=hg.tensor(pad),
            memory_key_padding_mask=hg.tensor(pad),
        )
        extra_t = dict(
            tgt_mask=causal_t,
            src_key_padding_mask=torch.tensor(pad),
            memory_key_padding_mask=torch.tensor(pad),
        )
    out_h, out_t = h_mod(*hs, **extra_h), t_mod(*ts, **extra_t)
    np.testing.assert_allclose(
        out_h.detach().numpy(), out_t.detach().numpy(), rtol=1e-9, atol=1e-11
    )
    g = r.standard_normal(tuple(out_t.shape))
    out_h.backward(hg.tensor(g))
    out_t.backward(torch.tensor(g))
    for a, b in zip(hs, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)
    tp = dict(t_mod.named_parameters())
    assert [k for k, _ in h_mod.named_parameters()] == list(tp)
    for k, p in h_mod.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tp[k].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=k
        )
