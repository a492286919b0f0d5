"""Module bookkeeping: traversal, modes, hooks, dtype, state dicts and their errors, nn.utils."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad import nn


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))


def test_traversal_names_match_torch():
    h = _net()
    t = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    )
    assert [n for n, _ in h.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(h.state_dict()) == list(t.state_dict())
    assert len(list(h.children())) == 4 and len(list(h.modules())) == 5


def test_train_eval_zero_grad_and_to():
    h = _net()
    h.eval()
    assert not any(m.training for m in h.modules())
    h.train()
    h(hg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in h.parameters())
    h.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in h.parameters())
    h.zero_grad()
    assert all(p.grad is None for p in h.parameters())
    h.to(np.float64)
    assert all(p.dtype == np.float64 for p in h.parameters())
    assert h[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    assert h(hg.randn(5, 3).double()).dtype == np.float64


def test_forward_hooks_and_removal():
    h = _net()
    seen = []
    handle = h[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = h[3].register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    y = h(hg.randn(5, 3))
    assert seen == [(5, 4)]
    np.testing.assert_allclose(
        y.detach().numpy(), np.broadcast_to(h[3].bias.detach().numpy(), (5, 2))
    )
    handle.remove()
    pre.remove()
    h(hg.randn(5, 3))
    assert seen == [(5, 4)]


def test_load_state_dict_returns_named_incompatible_keys_as_torch():
    h, t = (
        _net(),
        torch.nn.Sequential(
            torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
        ),
    )
    sd = dict(h.state_dict())
    sd.pop("3.bias")
    sd["extra.weight"] = np.zeros(2, np.float32)
    got = h.load_state_dict(sd, strict=False)
    want = t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in sd.items()}, strict=False)
    assert got.missing_keys == want.missing_keys == ["3.bias"]
    assert got.unexpected_keys == want.unexpected_keys == ["extra.weight"]
    missing, unexpected = got
    assert (missing, unexpected) == (want.missing_keys, want.unexpected_keys)
    assert repr(got) == repr(want)
    assert repr(h.load_state_dict(h.state_dict())) == repr(t.load_state_dict(t.state_dict()))


def test_load_state_dict_lists_wrong_keys_and_shapes():
    h = _net()
    sd = dict(h.state_dict())
    sd["0.weight"] = np.zeros((5, 3), np.float32)
    sd.pop("3.bias")
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError) as e:
        h.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys: ['3.bias']" in msg and "unexpected keys: ['extra.weight']" in msg
    assert "0.weight: checkpoint (5, 3) vs model (4, 3)" in msg
    with pytest.raises(RuntimeError, match="0.weight: checkpoint"):
        hg.load_torch_state_dict(
            h, {k: torch.tensor(np.asarray(v)) for k, v in sd.items()}, strict=False
        )


def test_parameter_must_be_assigned_after_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


# ---- nn.utils ---------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    r = np.random.default_rng(0)
    arrays = [r.standard_normal((3, 4)), r.standard_normal(5)]
    hp = [hg.tensor(a, requires_grad=True) for a in arrays]
    tp = [torch.tensor(a, requires_grad=True) for a in arrays]
    for h, t, a in zip(hp, tp, arrays):
        h.grad = hg.tensor(a * 3)
        t.grad = torch.tensor(a * 3)
    nh = nn.utils.clip_grad_norm_(hp, 1.5, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(tp, 1.5, norm_type)
    np.testing.assert_allclose(nh.item(), nt.item(), rtol=1e-12)
    for h, t in zip(hp, tp):
        np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="total norm"):
        hp[0].grad.numpy()[0, 0] = np.nan
        nn.utils.clip_grad_norm_(hp, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("norm_type", [2.0, 3.0, float("inf")])
def test_get_total_norm_and_clip_grads_with_norm_match_torch(norm_type):
    r = np.random.default_rng(1)
    arrays = [r.standard_normal((3, 4)), r.standard_normal(5)]
    got, want = [], []
    for lib, out in ((hg, got), (torch, want)):
        ps = [lib.tensor(a, requires_grad=True) for a in arrays]
        for p, a in zip(ps, arrays):
            p.grad = lib.tensor(a * 3)
        total = lib.nn.utils.get_total_norm([p.grad for p in ps], norm_type)
        lib.nn.utils.clip_grads_with_norm_(ps, 2.0, total)
        out += [total.item()] + [p.grad.numpy().copy() for p in ps]
        out.append(lib.nn.utils.get_total_norm([]).item())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    hg.manual_seed(0)
    logits = hg.tensor(np.random.default_rng(2).standard_normal((4, 5)), requires_grad=True)
    y = hg.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    assert (y.detach().sum(-1).numpy() == 1).all()
    assert set(np.unique(y.detach().numpy())) <= {0.0, 1.0}
    (y * hg.arange(5.0)).sum().backward()
    # the straight-through gradient is the soft sample's: its rows sum to 0 (softmax)
    np.testing.assert_allclose(logits.grad.numpy().sum(-1), 0, atol=1e-12)
    assert np.abs(logits.grad.numpy()).max() > 0
    soft = hg.nn.functional.gumbel_softmax(logits, tau=2.0)
    np.testing.assert_allclose(soft.detach().numpy().sum(-1), 1, rtol=1e-12)


def test_random_samplers_fill_in_place_within_their_support():
    hg.manual_seed(0)
    x = hg.empty(2000, dtype=hg.float64)
    assert x.exponential_(2.0) is x and x.min().item() >= 0
    assert abs(x.mean().item() - 0.5) < 0.05
    assert set(np.unique(x.geometric_(0.5).numpy())) <= set(range(1, 40))
    assert set(np.unique(x.random_(3).numpy())) == {0.0, 1.0, 2.0}
    assert set(np.unique(x.random_(-2, 0).numpy())) == {-2.0, -1.0}
    assert x.log_normal_(0.0, 0.5).min().item() > 0
    assert abs(x.cauchy_(3.0, 0.1).median().item() - 3.0) < 0.05
    assert abs(x.bernoulli_(0.25).mean().item() - 0.25) < 0.05
    b = hg.bernoulli(hg.full((1000,), 0.75))
    assert b.dtype == hg.float32 and abs(b.mean().item() - 0.75) < 0.05
    with pytest.raises(RuntimeError, match="bernoulli: probabilities must be in"):
        hg.bernoulli(hg.tensor([1.5]))
    with pytest.raises(RuntimeError, match="exponential_: a leaf tensor that requires grad"):
        hg.zeros(3, requires_grad=True).exponential_()


def test_clip_grad_value_and_vectors():
    p = hg.tensor(np.zeros((2, 3)), requires_grad=True)
    q = hg.tensor(np.zeros(4), requires_grad=True)
    p.grad = hg.tensor(np.arange(6.0).reshape(2, 3) - 3)
    nn.utils.clip_grad_value_([p, q], 1.5)
    np.testing.assert_array_equal(p.grad.numpy().ravel(), [-1.5, -1.5, -1, 0, 1, 1.5])
    v = hg.tensor(np.arange(10.0))
    nn.utils.vector_to_parameters(v, [p, q])
    np.testing.assert_array_equal(
        nn.utils.parameters_to_vector([p, q]).detach().numpy(), v.detach().numpy()
    )
    with pytest.raises(ValueError, match="vec has 9 elements but the parameters have 10"):
        nn.utils.vector_to_parameters(hg.tensor(np.zeros(9)), [p, q])


def test_reassigning_a_submodule_or_parameter_keeps_its_position_as_torch():
    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = lib.nn.Conv2d(1, 2, 3)
                self.scale = lib.nn.Parameter(lib.ones(1))
                self.fc = lib.nn.Linear(2, 2)

        net = Net()
        net.conv1 = lib.nn.Conv2d(1, 4, 3)
        net.scale = lib.nn.Parameter(lib.zeros(1))
        net.add_module("fc", lib.nn.Linear(4, 2))
        return (
            [name for name, _ in net.named_children()],
            list(net.state_dict()),
            [tuple(p.shape) for p in net.parameters()],
        )

    assert build(hg) == build(torch)


def test_setting_a_child_to_none_keeps_its_slot_and_other_values_are_refused_as_torch():
    def run(lib):
        net = lib.nn.Sequential()
        net.add_module("a", lib.nn.Linear(2, 2))
        net.add_module("b", lib.nn.ReLU())
        net.a = None
        slots = list(net._modules)
        net.a = lib.nn.Linear(2, 3)
        with pytest.raises(TypeError, match="cannot assign .*int.* as child module 'b'"):
            net.b = 3
        return slots, list(net._modules), list(net.state_dict())

    assert run(hg) == run(torch)


def test_module_to_takes_torchs_overloads():
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        dev = lib.device("cpu")
        out = [
            m.to(dev) is m,
            m.to("cpu", lib.float64) is m,
            m[0].weight.dtype == lib.float64,
            m.to(device=dev, dtype=lib.float32, non_blocking=True)[1].running_mean.dtype
            == lib.float32,
            m.to(lib.zeros(1, dtype=lib.float64))[0].bias.dtype == lib.float64,
            m[1].num_batches_tracked.dtype == lib.int64,
        ]
        with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
            m.to(lib.int64)
        return out

    assert run(hg) == run(torch) == [True] * 6
    with pytest.raises(RuntimeError, match="Module.to: .*CPU"):
        hg.nn.Linear(1, 1).to("cuda")


def _edit_containers(lib):
    nn_ = lib.nn
    seq = nn_.Sequential(nn_.Linear(3, 4), nn_.ReLU(), nn_.Linear(4, 2))
    seq.insert(1, nn_.BatchNorm1d(4))
    seq.insert(-1, nn_.Tanh())
    seq.append(nn_.Identity())
    popped = type(seq.pop(0)).__name__
    del seq[-1]
    seq[0] = nn_.LayerNorm(4)
    seq += nn_.Sequential(nn_.Sigmoid())
    out = [popped, [(k, type(m).__name__) for k, m in seq.named_children()], list(seq.state_dict())]
    ml = nn_.ModuleList([nn_.ReLU(), nn_.Tanh()])
    ml.insert(1, nn_.Linear(2, 2))
    ml += [nn_.Sigmoid()]
    del ml[0]
    out.append(type(ml.pop(-1)).__name__)
    out.append([(k, type(m).__name__) for k, m in ml.named_children()])
    out.append([type(m).__name__ for m in ml + nn_.ModuleList([nn_.GELU()])])
    del seq[1:3]
    out.append([(k, type(m).__name__) for k, m in seq.named_children()])
    return out


def test_sequential_and_module_list_edits_as_torch():
    assert _edit_containers(hg) == _edit_containers(torch)
    with pytest.raises(IndexError, match="Sequential.insert: index 5 is out of range for 3"):
        nn.Sequential(nn.ReLU(), nn.ReLU(), nn.ReLU()).insert(5, nn.ReLU())
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3"):
        del nn.Sequential(nn.ReLU(), nn.ReLU(), nn.ReLU())[3]


def _hook_calls(lib):
    class Scale(lib.nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative scale")
            return x * scale

    m, calls = Scale(), []
    m.register_forward_hook(lambda mod, a, o: calls.append("post"))
    m.register_forward_hook(lambda mod, a, o: calls.append("first"), prepend=True)
    m.register_forward_hook(
        lambda mod, a, k, o: calls.append(("kw", sorted(k), o.tolist())), with_kwargs=True
    )
    m.register_forward_hook(
        lambda mod, a, o: calls.append(("always", o if o is None else o.tolist())), always_call=True
    )
    m.register_forward_pre_hook(
        lambda mod, a, k: (tuple(x + 1 for x in a), {**k, "scale": k.get("scale", 1.0) * 2}),
        with_kwargs=True,
    )
    calls.append(m(lib.ones(2), scale=3.0).tolist())
    with pytest.raises(ValueError, match="negative scale"):
        m(lib.ones(2), scale=-1.0)
    return calls


def test_forward_hooks_with_kwargs_prepend_and_always_call_as_torch():
    assert _hook_calls(hg) == _hook_calls(torch)
    m = nn.Linear(2, 2)
    m.register_forward_pre_hook(lambda mod, a, k: a, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or a tuple \(args, kwargs\)"):
        m(hg.ones(2, 2))


def test_named_members_remove_duplicate_as_torch():
    results = []
    for lib in (hg, torch):
        shared = lib.nn.Linear(2, 2)
        m = lib.nn.Sequential(shared, lib.nn.ReLU(), shared)
        m.register_buffer("b", lib.zeros(1))
        results.append(
            [
                [n for n, _ in m.named_modules()],
                [n for n, _ in m.named_modules(remove_duplicate=False)],
                [n for n, _ in m.named_parameters()],
                [n for n, _ in m.named_parameters(remove_duplicate=False)],
                [n for n, _ in m.named_buffers(remove_duplicate=False)],
            ]
        )
    assert results[0] == results[1]


def test_parameter_dict_type_assign_skip_init_and_stateless_as_torch():
    results = []
    for lib in (hg, torch):
        pd = lib.nn.ParameterDict({"a": lib.nn.Parameter(lib.ones(1))})
        pd.update({"b": lib.nn.Parameter(lib.zeros(2))})
        popped = tuple(pd.pop("a").shape)
        got = [list(pd.keys()), popped, pd.get("zzz") is None]
        del pd["b"]
        got.append(len(pd))
        m = lib.nn.Linear(2, 2).type(lib.float64)
        got.append(str(m.weight.dtype).split(".")[-1])
        src = lib.nn.Linear(2, 2)
        m2 = lib.nn.Linear(2, 2)
        m2.load_state_dict(src.state_dict(), assign=True)
        got.append(np.array_equal(m2.weight.detach().numpy(), src.weight.detach().numpy()))
        got.append(type(lib.nn.utils.skip_init(lib.nn.Linear, 3, 4)).__name__)
        lin = lib.nn.Linear(2, 1, bias=False)
        out = lib.nn.utils.stateless.functional_call(
            lin, {"weight": lib.ones(1, 2)}, (lib.tensor([[2.0, 3.0]]),)
        )
        got.append(out.tolist())
        results.append(got)
    assert results[0] == results[1]


def test_dirac_and_multilabel_soft_margin_loss_as_torch():
    for shape, groups in [((4, 2, 3, 3), 2), ((3, 3, 5), 1), ((2, 4, 3, 3, 3), 1)]:
        h, t = hg.empty(*shape), torch.empty(*shape)
        hg.nn.init.dirac_(h, groups=groups)
        torch.nn.init.dirac_(t, groups=groups)
        np.testing.assert_array_equal(h.numpy(), t.numpy())
    r = np.random.default_rng(5)
    x, y, w = r.standard_normal((3, 4)), (r.random((3, 4)) > 0.5) * 1.0, np.arange(1.0, 5.0)
    for reduction in ("mean", "sum", "none"):
        got, want = [], []
        for lib, out in ((hg, got), (torch, want)):
            xi = lib.tensor(x, requires_grad=True)
            loss = lib.nn.functional.multilabel_soft_margin_loss(
                xi, lib.tensor(y), lib.tensor(w), reduction=reduction
            )
            loss.sum().backward()
            out += [loss.detach().numpy(), xi.grad.numpy()]
        for g, wv in zip(got, want):
            np.testing.assert_allclose(g, wv, rtol=1e-12)


def test_lazy_linear_materialises_on_the_first_call_as_torch():
    results = []
    for lib in (hg, torch):
        model = lib.nn.Sequential(lib.nn.LazyLinear(3), lib.nn.Tanh(), lib.nn.LazyLinear(2))
        x = lib.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
        model(x)  # the dry run
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
        with lib.no_grad():
            for p in model.parameters():
                p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape))))
        loss = model(x).pow(2).sum()
        loss.backward()
        optimizer.step()
        results.append(
            [
                [type(m).__name__ for m in model],
                [tuple(p.shape) for p in model.parameters()],
                model[0].in_features,
                round(loss.item(), 5),
                np.round(model[2].weight.detach().numpy(), 5).tolist(),
            ]
        )
    assert results[0] == results[1]


@pytest.mark.parametrize("kind", ["conv", "convtranspose", "linear"])
def test_fuse_bn_eval_as_torch(kind):
    outs = []
    for lib in (hg, torch):
        nn_ = lib.nn
        if kind == "conv":
            layer, bn, shape = nn_.Conv2d(2, 3, 3), nn_.BatchNorm2d(3), (2, 2, 5, 5)
        elif kind == "convtranspose":
            layer, bn, shape = nn_.ConvTranspose2d(2, 3, 3), nn_.BatchNorm2d(3), (2, 2, 4, 4)
        else:
            layer, bn, shape = nn_.Linear(4, 3), nn_.BatchNorm1d(3), (5, 4)
        rng = np.random.default_rng(7)
        with lib.no_grad():
            for p in [*layer.parameters(), *bn.parameters()]:
                p.copy_(lib.tensor(rng.uniform(0.5, 1.5, tuple(p.shape)).astype(np.float32)))
            bn.running_mean.copy_(lib.tensor(rng.standard_normal(3).astype(np.float32)))
            bn.running_var.copy_(lib.tensor(rng.uniform(0.5, 2, 3).astype(np.float32)))
        layer.eval()
        bn.eval()
        fusion = lib.nn.utils.fusion
        if kind == "linear":
            fused = fusion.fuse_linear_bn_eval(layer, bn)
        else:
            fused = fusion.fuse_conv_bn_eval(layer, bn, transpose=kind == "convtranspose")
        x = lib.tensor(rng.standard_normal(shape).astype(np.float32))
        with lib.no_grad():
            outs.append([fused(x).numpy(), bn(layer(x)).numpy(), fused.weight.detach().numpy()])
        assert isinstance(fused.weight, lib.nn.Parameter) and fused is not layer
    for g, w in zip(*outs):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][0], outs[0][1], rtol=1e-4, atol=1e-5)
