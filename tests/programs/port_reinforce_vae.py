"""torch.distributions in the two places tutorials use it: a REINFORCE policy gradient on a
small bandit-like task (``Categorical(logits=...)``: ``sample``, ``log_prob``, ``entropy``, an
entropy bonus and normalised returns), and a VAE-style reparameterisation (``Normal(mu,
std).rsample()``, ``kl_divergence(Normal, Normal)`` against a standard normal prior, checked
against the closed form), a discrete latent through ``F.gumbel_softmax(hard=True)`` (the
straight-through estimator), plus ``Independent``, ``Bernoulli(logits=)`` and ``MultivariateNormal``
log-densities. Samples come from each library's generator, so only quantities computed from
fixed inputs are compared; the sampled parts are compared through their statistics' shapes and
through actions chosen by a fixed uniform draw (inverse CDF)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (
    Bernoulli,
    Categorical,
    Exponential,
    Independent,
    Laplace,
    LogNormal,
    Normal,
    OneHotCategorical,
    kl_divergence,
)

TOLERANCE = {"policy_losses": (1e-4, 1e-5), "vae_losses": (1e-4, 1e-5)}


def init_from_numpy(module, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))

    def forward(self, state):
        return self.body(state)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(6, 8)
        self.mu = nn.Linear(8, 2)
        self.logvar = nn.Linear(8, 2)
        self.dec = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 6))

    def forward(self, x, eps):
        h = F.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        std = torch.exp(0.5 * logvar)
        q = Normal(mu, std)
        # rsample draws from the generator; the comparison uses the same path with a fixed eps
        z_sampled = q.rsample()
        z = mu + std * eps
        return self.dec(z), q, z_sampled


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    # REINFORCE: the action is chosen by inverse CDF from a fixed uniform draw, so both libraries
    # take the same actions; log_prob and entropy come from the distribution object
    policy = Policy()
    init_from_numpy(policy, 1)
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.02)
    gamma = 0.9
    policy_losses, returns_seen = [], []
    for episode in range(6):
        states = torch.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        uniforms = torch.tensor(rng.random(5).astype(np.float32))
        dist = Categorical(logits=policy(states))
        cdf = dist.probs.cumsum(-1)
        actions = (uniforms.unsqueeze(-1) > cdf).sum(-1).clamp(max=2)
        sample_shape = tuple(dist.sample().shape)
        rewards = [1.0 if int(a) == (i % 3) else -0.5 for i, a in enumerate(actions)]
        returns, running = [], 0.0
        for r in reversed(rewards):
            running = r + gamma * running
            returns.insert(0, running)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        returns_seen.append(returns.tolist())
        log_probs = dist.log_prob(actions)
        loss = -(log_probs * returns).sum() - 0.01 * dist.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        policy_losses.append(loss.item())

    # VAE with the reparameterisation trick
    vae = VAE()
    init_from_numpy(vae, 2)
    optimizer = torch.optim.Adam(vae.parameters(), lr=0.01)
    x = torch.tensor(rng.standard_normal((16, 6)).astype(np.float32))
    prior = Normal(torch.zeros(2), torch.ones(2))
    vae_losses, kl_check = [], []
    for step in range(8):
        eps = torch.tensor(rng.standard_normal((16, 2)).astype(np.float32))
        recon, q, z_sampled = vae(x, eps)
        kl = kl_divergence(q, prior).sum(-1)
        closed = -0.5 * (1 + 2 * q.scale.log() - q.loc**2 - q.scale**2).sum(-1)
        kl_check.append(float((kl - closed).abs().max()))
        loss = F.mse_loss(recon, x, reduction="sum") / 16 + kl.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        vae_losses.append(loss.item())
    rsample_has_grad = z_sampled.requires_grad

    # a discrete latent by the straight-through Gumbel-softmax: the sample is one-hot, the
    # gradient the soft sample's, so its rows sum to 0 whatever the noise drawn
    codes = torch.tensor(rng.standard_normal((6, 4)).astype(np.float32), requires_grad=True)
    hard = F.gumbel_softmax(codes, tau=0.5, hard=True)
    (hard * torch.arange(4.0)).sum().backward()
    gumbel_one_hot = bool(((hard.detach() == 0) | (hard.detach() == 1)).all())
    gumbel_row_sums = hard.detach().sum(-1).tolist()
    gumbel_grad_rows = float(codes.grad.sum(-1).abs().max()) < 1e-5

    # other densities on fixed values
    loc = torch.tensor([[0.0, 1.0], [0.5, -0.5]])
    scale = torch.tensor([[1.0, 2.0], [0.5, 1.5]])
    ind = Independent(Normal(loc, scale), 1)
    value = torch.tensor([[0.3, 0.2], [-1.0, 0.0]])
    bern = Bernoulli(logits=torch.tensor([-1.0, 0.0, 2.0]))
    other = Independent(Normal(loc + 0.5, scale * 0.7), 1)
    return {
        "policy_losses": policy_losses,
        "returns": returns_seen,
        "sample_shape": str(sample_shape),
        "vae_losses": vae_losses,
        "kl_check": max(kl_check) < 1e-5,
        "rsample_has_grad": rsample_has_grad,
        "independent_log_prob": ind.log_prob(value).tolist(),
        "independent_shapes": f"{tuple(ind.batch_shape)} {tuple(ind.event_shape)}",
        "independent_entropy": ind.entropy().tolist(),
        "bernoulli_log_prob": bern.log_prob(torch.tensor([1.0, 0.0, 1.0])).tolist(),
        "bernoulli_mean": bern.mean.tolist(),
        "independent_kl": kl_divergence(ind, other).tolist(),
        "gumbel_one_hot": gumbel_one_hot,
        "gumbel_row_sums": gumbel_row_sums,
        "gumbel_grad_rows": gumbel_grad_rows,
        "exponential": Exponential(scale[0]).log_prob(value.abs()).flatten().tolist(),
        "laplace": Laplace(loc, scale).log_prob(value).flatten().tolist(),
        "lognormal": LogNormal(loc, scale).log_prob(value.abs() + 0.1).flatten().tolist(),
        "lognormal_mean": LogNormal(loc, scale).mean.flatten().tolist(),
        "onehot": OneHotCategorical(logits=loc).log_prob(torch.eye(2)).tolist(),
        "onehot_support": OneHotCategorical(logits=loc).enumerate_support().flatten().tolist(),
        "categorical_entropy": Categorical(probs=torch.tensor([0.2, 0.3, 0.5])).entropy().item(),
    }
