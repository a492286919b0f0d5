"""The ``Optimizer`` base-class contract user-written optimizers rely on, against torch.optim:
``state`` a ``defaultdict(dict)``, ``@no_grad()`` on a user's ``step``, ``step(closure)``,
step pre/post hooks, ``add_param_group`` filling defaults, named parameters, state dicts with
integer parameter ids."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import handgrad as hg


def _user_optimizer(lib):
    """The same source text for both libraries: a momentum optimizer written as torch users do."""

    class Momentum(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1, beta=0.9):
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")
            super().__init__(params, dict(lr=lr, beta=beta))

        @lib.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with lib.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["buf"] = lib.zeros_like(p)
                    state["step"] += 1
                    state["buf"].mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])
                    p.add_(state["buf"], alpha=-group["lr"])
            return loss

    return Momentum


def _run(lib, steps=20):
    r = np.random.default_rng(0)
    w0, b0 = r.standard_normal((3, 2)), r.standard_normal(3)
    x, y = r.standard_normal((8, 2)), r.standard_normal((8, 3))
    w = lib.nn.Parameter(lib.tensor(w0))
    b = lib.nn.Parameter(lib.tensor(b0))
    opt = _user_optimizer(lib)([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.2)
    events = []
    opt.register_step_pre_hook(lambda o, a, k: events.append("pre"))
    handle = opt.register_step_post_hook(lambda o, a, k: events.append("post"))

    def closure():
        opt.zero_grad()
        loss = ((lib.tensor(x) @ w.T + b - lib.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(steps)]
    handle.remove()
    opt.step(closure)
    sd = opt.state_dict()
    return dict(
        w=w.detach().numpy().copy(),
        b=b.detach().numpy().copy(),
        losses=losses,
        events=events,
        groups=[{k: v for k, v in g.items()} for g in sd["param_groups"]],
        state_keys=sorted(sd["state"]),
        steps=[sd["state"][i]["step"] for i in (0, 1)],
    )


def test_user_written_optimizer_follows_torch():
    h, t = _run(hg), _run(torch)
    np.testing.assert_allclose(h["w"], t["w"], rtol=1e-12)
    np.testing.assert_allclose(h["b"], t["b"], rtol=1e-12)
    np.testing.assert_allclose(h["losses"], t["losses"], rtol=1e-12)
    assert h["events"] == t["events"] == ["pre", "post"] * 20 + ["pre"]
    assert h["groups"] == t["groups"]  # defaults filled per group, params as integer ids
    assert h["state_keys"] == t["state_keys"] == [0, 1]
    assert h["steps"] == t["steps"] == [21, 21]


def test_state_is_a_defaultdict_and_keeps_non_parameter_keys():
    w = hg.nn.Parameter(hg.zeros(2))
    opt = hg.optim.SGD([w], lr=0.1)
    assert opt.state[w] == {}  # no KeyError
    opt.state["global"] = {"count": 3}
    sd = opt.state_dict()
    assert sd["state"]["global"] == {"count": 3}
    opt2 = hg.optim.SGD([hg.nn.Parameter(hg.zeros(2))], lr=0.1)
    opt2.load_state_dict(sd)
    assert opt2.state["global"] == {"count": 3}


def test_pre_hook_may_replace_the_arguments():
    w = hg.nn.Parameter(hg.ones(2))
    opt = hg.optim.SGD([w], lr=0.5)
    seen = []

    def closure():
        seen.append(1)
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt.register_step_pre_hook(lambda o, args, kwargs: ((), {"closure": closure}))
    opt.step()  # the hook supplied the closure
    assert seen == [1]
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])
    opt.register_step_pre_hook(lambda o, args, kwargs: "nonsense")
    with pytest.raises(RuntimeError, match="pre-hook must return None or a tuple"):
        opt.step()


def test_named_parameters_and_add_param_group_match_torch():
    th = torch.nn.Linear(2, 2)
    hm = hg.nn.Linear(2, 2)
    ot = torch.optim.SGD(th.named_parameters(), lr=0.1, momentum=0.5)
    oh = hg.optim.SGD(hm.named_parameters(), lr=0.1, momentum=0.5)
    assert oh.param_groups[0]["param_names"] == ot.param_groups[0]["param_names"]
    with pytest.raises(ValueError, match="with/without names"):
        oh.add_param_group({"params": [hg.nn.Parameter(hg.zeros(1))]})
    extra_t, extra_h = torch.nn.Parameter(torch.zeros(1)), hg.nn.Parameter(hg.zeros(1))
    ot.add_param_group({"params": [("extra", extra_t)], "lr": 0.01})
    oh.add_param_group({"params": [("extra", extra_h)], "lr": 0.01})
    for gh, gt in zip(oh.param_groups, ot.param_groups):
        for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "param_names"):
            assert gh[k] == gt[k], k
    with pytest.raises(ValueError, match="more than one parameter group"):
        oh.add_param_group({"params": [("again", extra_h)]})
    with pytest.raises(TypeError, match="ordered"):
        hg.optim.SGD({hg.nn.Parameter(hg.zeros(1))}, lr=0.1)


def test_zero_grad_set_to_none_false_zeroes_in_place():
    w = hg.nn.Parameter(hg.ones(3))
    opt = hg.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and not w.grad.numpy().any()
    opt.zero_grad()
    assert w.grad is None


def test_a_user_optimizers_state_of_any_shape_round_trips():
    class Flat(hg.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        @hg.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    state.setdefault("history", hg.zeros(5))  # not the parameter's shape
                    state["history"].add_(1.0)

    w = hg.nn.Parameter(hg.zeros(2, 3))
    opt = Flat([w])
    opt.step()
    opt2 = Flat([hg.nn.Parameter(hg.zeros(2, 3))])
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[opt2.param_groups[0]["params"][0]]["history"].tolist() == [1.0] * 5
    adam = hg.optim.Adam([hg.nn.Parameter(hg.zeros(3))])
    sd = {
        "state": {0: {"step": 1, "exp_avg": hg.zeros(4), "exp_avg_sq": hg.zeros(3)}},
        "param_groups": adam.state_dict()["param_groups"],
    }
    with pytest.raises(ValueError, match=r"state 'exp_avg': shape \(4,\) vs parameter \(3,\)"):
        adam.load_state_dict(sd)


def test_state_dict_hooks_and_global_step_hooks_as_torch():
    def run(lib):
        events = []
        w = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
        opt.register_state_dict_pre_hook(lambda o: events.append("sd-pre"))

        def post(o, sd):
            events.append("sd-post")
            sd["extra"] = 1
            return sd

        opt.register_state_dict_post_hook(post)
        opt.register_load_state_dict_pre_hook(lambda o, sd: events.append("load-pre"))
        opt.register_load_state_dict_post_hook(lambda o: events.append("load-post"), prepend=True)
        module = importlib.import_module(f"{lib.__name__}.optim.optimizer")
        handles = [
            module.register_optimizer_step_pre_hook(lambda o, a, k: events.append("global-pre")),
            module.register_optimizer_step_post_hook(lambda o, a, k: events.append("global-post")),
        ]
        opt.register_step_pre_hook(lambda o, a, k: events.append("pre"))
        opt.register_step_post_hook(lambda o, a, k: events.append("post"))
        try:
            (w * w).sum().backward()
            opt.step()
        finally:
            for h in handles:
                h.remove()
        opt.step()
        sd = opt.state_dict()
        opt.load_state_dict(sd)
        return events, sd["extra"]

    assert run(hg) == run(torch)
