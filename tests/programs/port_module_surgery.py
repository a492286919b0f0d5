"""Module introspection and surgery: ``named_modules()`` and ``named_parameters(prefix=...,
recurse=False)``, ``apply(init_fn)`` with isinstance checks, ``register_buffer(persistent=False)``
kept out of the state_dict, ``load_state_dict(strict=False)`` reporting missing and unexpected
keys, a backbone frozen by ``requires_grad_(False)`` while a head trains, ``nn.ModuleDict`` and
``nn.ParameterList`` / ``nn.ParameterDict`` containers, ``modules()``/``children()`` counts; a
``nn.LazyLinear`` head sized by a dry run, and the eval-mode Linear + BatchNorm of the backbone
folded by ``nn.utils.fusion.fuse_linear_bn_eval``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict(
            {"inp": nn.Linear(4, 8), "hid": nn.Linear(8, 8), "bn": nn.BatchNorm1d(8)}
        )
        self.register_buffer("scale", torch.tensor(2.0))
        self.register_buffer("cache", torch.zeros(3), persistent=False)

    def forward(self, x):
        h = torch.relu(self.layers["bn"](self.layers["inp"](x)))
        return torch.tanh(self.layers["hid"](h)) * self.scale


class Net(nn.Module):
    def __init__(self, heads=2):
        super().__init__()
        self.backbone = Backbone()
        self.mix = nn.ParameterList([nn.Parameter(torch.ones(8) * (i + 1)) for i in range(heads)])
        self.extra = nn.ParameterDict({"bias": nn.Parameter(torch.zeros(3))})
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.backbone(x)
        h = sum(h * m for m in self.mix)
        return self.head(h) + self.extra["bias"]


def init_weights(seed):
    rng = np.random.default_rng(seed)
    seen = []

    def init_fn(m):
        seen.append(type(m).__name__)
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.copy_(
                    torch.tensor(rng.uniform(-0.5, 0.5, tuple(m.weight.shape)).astype(np.float32))
                )
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.constant_(m.bias, 0.1)

    return init_fn, seen


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 3, 16))

    net = Net()
    init_fn, seen = init_weights(1)
    returned = net.apply(init_fn)
    module_names = [name for name, _ in net.named_modules()]
    direct = [name for name, _ in net.named_parameters(prefix="model", recurse=False)]
    backbone_direct = [n for n, _ in net.backbone.named_parameters(recurse=False)]
    buffers = [name for name, _ in net.named_buffers()]
    keys = list(net.state_dict().keys())

    # pretrain a little
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    # a new model with 3 mixers and no extra: strict=False loading
    class Net3(Net):
        def __init__(self):
            super().__init__(heads=3)
            del self.extra

        def forward(self, x):
            h = self.backbone(x)
            return self.head(sum(h * m for m in self.mix))

    fresh = Net3()
    result = fresh.load_state_dict(net.state_dict(), strict=False)
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    try:
        Net3().load_state_dict(net.state_dict())
        strict_error = "none"
    except RuntimeError as exc:
        strict_error = type(exc).__name__

    # freeze the backbone, fine-tune the rest
    fresh.backbone.requires_grad_(False)
    fresh.backbone.eval()
    trainable = [n for n, p in fresh.named_parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, fresh.parameters()), lr=0.01)
    frozen_before = fresh.backbone.layers["hid"].weight.detach().clone()
    running_before = fresh.backbone.layers["bn"].running_mean.clone()
    for _ in range(5):
        optimizer.zero_grad()
        loss = F.cross_entropy(fresh(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    frozen_change = (fresh.backbone.layers["hid"].weight - frozen_before).abs().max().item()
    running_change = (fresh.backbone.layers["bn"].running_mean - running_before).abs().max().item()
    # a head whose input size comes from a dry run
    lazy = nn.LazyLinear(2)
    lazy(fresh.backbone(x))
    with torch.no_grad():
        lazy.weight.copy_(torch.linspace(-1, 1, lazy.weight.numel()).view_as(lazy.weight))
        lazy.bias.fill_(0.1)
    lazy_out = lazy(fresh.backbone(x)[:2])

    # fold the eval-mode Linear + BatchNorm of the backbone into one Linear
    fresh.backbone.eval()
    layers = fresh.backbone.layers
    fused = nn.utils.fusion.fuse_linear_bn_eval(layers["inp"], layers["bn"])
    with torch.no_grad():
        unfused = layers["bn"](layers["inp"](x))
        fold_error = float((fused(x) - unfused).abs().max())
    return {
        "lazy": type(lazy).__name__ + str(tuple(lazy.weight.shape)),
        "lazy_out": lazy_out.detach().flatten().tolist(),
        "fold_ok": fold_error < 1e-5,
        "fused_bias": fused.bias.detach().tolist(),
        "applied_to": ",".join(seen),
        "apply_returns_self": returned is net,
        "module_names": ",".join(module_names),
        "direct": ",".join(direct),
        "backbone_direct": ",".join(backbone_direct),
        "buffers": ",".join(buffers),
        "state_keys": ",".join(keys),
        "missing": ",".join(missing),
        "unexpected": ",".join(unexpected),
        "strict_error": strict_error,
        "trainable": ",".join(trainable),
        "losses": losses,
        "frozen_change": frozen_change,
        "running_change": running_change,
        "bn_weight_grad_none": fresh.backbone.layers["bn"].weight.grad is None,
        "counts": [len(list(net.modules())), len(list(net.children())), len(net.mix)],
        "mix2": fresh.mix[2].detach().tolist(),
    }
