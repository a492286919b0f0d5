"""Higher-order autograd as research code uses it: ``torch.autograd.functional.jacobian`` and
``hessian`` of small functions (and ``vectorize=True`` / ``create_graph``), ``hvp`` / ``vjp``,
per-sample gradients with ``torch.func`` (``functional_call`` + ``grad`` + ``vmap`` over the
batch, as the torch.func tutorial does, checked against a loop of backward passes), and a
WGAN-GP critic step whose gradient penalty differentiates ``autograd.grad(create_graph=True)``
of the critic output with respect to interpolated inputs."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.functional import hessian, hvp, jacobian, vjp
from torch.func import functional_call, grad, vmap

TOLERANCE = {"per_sample_grads": (1e-4, 1e-6), "critic_losses": (1e-4, 1e-5)}


def init_from_numpy(module, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.tensor(rng.uniform(-scale, scale, tuple(p.shape)).astype(np.float32)))


def f(x):
    return torch.stack([x[0] ** 2 * x[1], torch.sin(x[1]) + x[2] * x[0], x.exp().sum()])


def rosenbrock(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x0 = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    J = jacobian(f, x0)
    Jv = jacobian(f, x0, vectorize=True)
    H = hessian(rosenbrock, x0)
    _, hv = hvp(rosenbrock, x0, torch.ones(3, dtype=torch.float64))
    _, vj = vjp(f, x0, torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64))
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    J2 = jacobian(lambda a, b: a * b.sum(), (w, x0), create_graph=True)
    (J2[1] ** 2).sum().backward()

    # per-sample gradients with torch.func
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    init_from_numpy(model, 1)
    data = torch.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    targets = torch.tensor(rng.integers(0, 3, 5))
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_one(p, x, y):
        logits = functional_call(model, p, (x.unsqueeze(0),))
        return F.cross_entropy(logits, y.unsqueeze(0))

    per_sample = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, data, targets)
    looped = []
    for i in range(5):
        model.zero_grad()
        F.cross_entropy(model(data[i : i + 1]), targets[i : i + 1]).backward()
        looped.append(model[0].weight.grad.clone())
    loop_diff = float((per_sample["0.weight"] - torch.stack(looped)).abs().max())

    # WGAN-GP critic steps
    critic = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    init_from_numpy(critic, 2)
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    critic_losses, penalties = [], []
    for step in range(5):
        real = torch.tensor(rng.standard_normal((8, 2)).astype(np.float32)) + 2
        fake = torch.tensor(rng.standard_normal((8, 2)).astype(np.float32))
        alpha = torch.tensor(rng.random((8, 1)).astype(np.float32))
        interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = critic(interp)
        grads = torch.autograd.grad(
            outputs=out,
            inputs=interp,
            grad_outputs=torch.ones_like(out),
            create_graph=True,
            retain_graph=True,
        )[0]
        penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        critic_losses.append(loss.item())
        penalties.append(penalty.item())
    return {
        "jacobian": J.tolist(),
        "jacobian_vectorized": Jv.tolist(),
        "hessian": H.tolist(),
        "hvp": hv.tolist(),
        "vjp": vj.tolist(),
        "create_graph_grad": w.grad.tolist(),
        "per_sample_shapes": ",".join(f"{k}:{tuple(v.shape)}" for k, v in per_sample.items()),
        "per_sample_grads": per_sample["2.bias"].tolist(),
        "loop_matches": loop_diff < 1e-5,
        "critic_losses": critic_losses,
        "penalties": penalties,
    }
