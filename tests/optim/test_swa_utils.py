"""``optim.swa_utils`` against torch's: SWA and EMA averages of a model trained by SGD (with
BatchNorm, buffers copied or averaged), ``SWALR``'s lr sequence, ``update_bn``'s statistics,
and the state-dict keys of the averaged model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)


def _net(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(3, 5), lib.nn.BatchNorm1d(5), lib.nn.ReLU(), lib.nn.Linear(5, 2)
    )


def _init(lib, model, seed=0):
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    return model


def _data():
    r = np.random.default_rng(1)
    return r.standard_normal((8, 20, 3)), r.standard_normal((8, 20, 2))


def _train(lib, averaged_kw, swa_start=3, anneal="cos"):
    xs, ys = _data()
    model = _init(lib, _net(lib).double())
    swa = lib.optim.swa_utils.AveragedModel(model, **averaged_kw(lib))
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=3, anneal_strategy=anneal)
    lrs = []
    for epoch, (x, y) in enumerate(zip(xs, ys)):
        opt.zero_grad()
        loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        opt.step()
        if epoch >= swa_start:
            swa.update_parameters(model)
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    loader = [(lib.tensor(x), lib.tensor(y)) for x, y in zip(xs, ys)]
    before = [b.detach().numpy().copy() for b in swa.module.buffers()]
    lib.optim.swa_utils.update_bn(loader, swa)
    state = {k: v.detach().numpy().copy() for k, v in swa.state_dict().items()}
    swa.eval()
    out = swa(lib.tensor(xs[0])).detach().numpy()
    return lrs, state, before, out, swa.module[1].momentum, swa.training


@pytest.mark.parametrize("kind", ["swa", "ema", "ema-buffers", "custom-avg_fn"])
def test_averaged_model_swalr_and_update_bn_match_torch(kind):
    def kw(lib):
        su = lib.optim.swa_utils
        return {
            "swa": {},
            "ema": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9)},
            "ema-buffers": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.8), "use_buffers": True},
            "custom-avg_fn": {"avg_fn": su.get_ema_avg_fn(0.7)},
        }[kind]

    h, t = _train(hg, kw), _train(torch, kw)
    np.testing.assert_allclose(h[0], t[0], rtol=1e-12)  # SWALR's lrs
    assert list(h[1]) == list(t[1])  # state-dict keys, n_averaged first
    for k in t[1]:
        np.testing.assert_allclose(h[1][k], t[1][k], rtol=1e-10, atol=1e-12, err_msg=k)
    for a, b in zip(h[2], t[2]):  # buffers before update_bn (copied, or averaged)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h[3], t[3], rtol=1e-10, atol=1e-12)
    assert h[4] == t[4] == 0.1 and h[5] == t[5]  # momentum and mode restored


@pytest.mark.parametrize("anneal_epochs,strategy", [(0, "cos"), (1, "linear"), (5, "linear")])
def test_swalr_sequences_match_torch(anneal_epochs, strategy):
    def run(lib):
        w = lib.nn.Parameter(lib.zeros(1))
        opt = lib.optim.SGD(
            [{"params": [w]}, {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.3}], lr=1.0
        )
        s = lib.optim.swa_utils.SWALR(
            opt, swa_lr=[0.1, 0.05], anneal_epochs=anneal_epochs, anneal_strategy=strategy
        )
        out = []
        for i in range(8):
            opt.step()
            s.step()
            if i == 3:
                opt.param_groups[0]["lr"] *= 2  # changed in between: SWALR composes with it
            out.append([g["lr"] for g in opt.param_groups])
        return out

    np.testing.assert_allclose(run(hg), run(torch), rtol=1e-12)
    opt = hg.optim.SGD([hg.nn.Parameter(hg.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        hg.optim.swa_utils.SWALR(opt, 0.01, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        hg.optim.swa_utils.SWALR(opt, 0.01, anneal_epochs=-1)
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        hg.optim.swa_utils.AveragedModel(
            hg.nn.Linear(1, 1), avg_fn=lambda *a: a[0], multi_avg_fn=lambda *a: None
        )
