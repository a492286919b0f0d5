"""The Adam / RMSProp batch-size experiment of problem set 003, Problem 3 (exercise 003-p3).

Adam's second moment v is an EWA of the squared *batch* gradient gbar^2. For a batch of B
examples drawn independently, E[gbar^2] = mu^2 + sigma^2 / B per coordinate (mu, sigma^2: mean
and variance of the per-example gradient), so v, and with it the step lr * m / sqrt(v), depends on
the batch size: v shrinks towards mu^2 as B grows. The mean of the per-example squares,
mean_b g_b^2, has expectation mu^2 + sigma^2 whatever B is. This experiment measures both at a
fixed parameter point (lr = 0, so nothing moves) on a noisy linear regression, both directly and
as the bias-corrected v of ``Adam`` and ``handgrad.func.PerSampleAdam``.

Run ``python -m handgrad.exercises.experiments`` for the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import nn
from .._tensor import Tensor
from ..optim import Adam


def _problem(dim: int, noise: float, rng: np.random.Generator) -> tuple:
    w_true = rng.standard_normal(dim)

    def sample(n: int) -> tuple[Tensor, Tensor]:
        x = rng.standard_normal((n, dim))
        y = x @ w_true + noise * rng.standard_normal(n)
        return Tensor._wrap(x), Tensor._wrap(y[:, None])

    return sample


def second_moment_vs_batch_size(
    batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    n_batches: int = 200,
    dim: int = 10,
    noise: float = 1.0,
    beta2: float = 0.99,
    seed: int = 0,
) -> list[dict]:
    """For each batch size, averaged over all parameter coordinates:

    - ``batch_mean_sq``: mean over batches of gbar^2 (what Adam's v averages);
    - ``per_example_sq``: mean over batches of mean_b g_b^2 (what PerSampleAdam's v averages);
    - ``predicted_batch_mean_sq``: mu^2 + sigma^2 / B, from a 20,000-example population;
    - ``adam_v`` / ``per_sample_adam_v``: the optimizers' own bias-corrected v after the
      ``n_batches`` steps (lr = 0, betas (0.9, beta2)).

    The model is ``Linear(dim, 1)`` at a fixed random point, the loss the mean squared error.
    """
    from ..func import PerSampleAdam, per_sample_grad

    rng = np.random.default_rng(seed)
    sample = _problem(dim, noise, rng)
    model = nn.Linear(dim, 1).double()
    loss = nn.MSELoss()

    def flat(grads: dict) -> np.ndarray:  # (B, number of parameters)
        return np.concatenate([g._data.reshape(g.shape[0], -1) for g in grads.values()], axis=1)

    population = flat(per_sample_grad(model, loss, *sample(20_000)))
    mu2, var = population.mean(0) ** 2, population.var(0)
    rows = []
    for b in batch_sizes:
        adam = Adam(model.parameters(), lr=0.0, betas=(0.9, beta2))
        ps_adam = PerSampleAdam(model.parameters(), lr=0.0, betas=(0.9, beta2))
        batch_sq, example_sq = [], []
        for _ in range(n_batches):
            grads = per_sample_grad(model, loss, *sample(b), set_grads=True)
            g = flat(grads)
            batch_sq.append((g.mean(0) ** 2).mean())
            example_sq.append((g * g).mean())
            adam.step()
            ps_adam.step({p: grads[name] for name, p in model.named_parameters()})
            model.zero_grad(set_to_none=True)

        def v_hat(opt: Adam) -> float:
            vs = [
                opt.state[p]["exp_avg_sq"]._data.ravel() / (1 - beta2 ** opt.state[p]["step"])
                for p in model.parameters()
            ]
            return float(np.concatenate(vs).mean())

        rows.append(
            dict(
                batch_size=b,
                batch_mean_sq=float(np.mean(batch_sq)),
                per_example_sq=float(np.mean(example_sq)),
                predicted_batch_mean_sq=float((mu2 + var / b).mean()),
                predicted_per_example_sq=float((mu2 + var).mean()),
                adam_v=v_hat(adam),
                per_sample_adam_v=v_hat(ps_adam),
            )
        )
    return rows


def main() -> None:
    rows = second_moment_vs_batch_size()
    head = ("B", "E[gbar^2]", "mu^2+s^2/B", "Adam v", "mean g_b^2", "mu^2+s^2", "PerSample v")
    print("  ".join(f"{h:>11}" for h in head))
    for r in rows:
        print(
            "  ".join(
                f"{v:>11.4g}"
                for v in (
                    r["batch_size"],
                    r["batch_mean_sq"],
                    r["predicted_batch_mean_sq"],
                    r["adam_v"],
                    r["per_example_sq"],
                    r["predicted_per_example_sq"],
                    r["per_sample_adam_v"],
                )
            )
        )


if __name__ == "__main__":
    main()
