"""The variational autoencoder (Kingma and Welling, 2014) with a Gaussian decoder whose variance
is learned, fixed, or set to its closed-form optimum. Used in exercise 002-a10.

The model, for x in R^d and a code z in R^k:

    prior         p(z)   = N(0, I_k)
    decoder       p(x|z) = N(x; mu(z), sigma^2 I_d)             mu(z) an MLP, sigma one scalar
    encoder       q(z|x) = N(z; m(x), diag(exp(l(x))))          m, l = log-variance: an MLP

and it maximises the evidence lower bound, per example,

    ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x).

Each piece, derived (``elbo_terms`` computes them; all logarithms natural, so ELBOs are in nats):

* Gaussian log-likelihood. The density of N(mu, sigma^2 I_d) is (2 pi sigma^2)^(-d/2)
  exp(-||x - mu||^2 / (2 sigma^2)), so

      log p(x|z) = -(d/2) log(2 pi) - d log sigma - ||x - mu(z)||^2 / (2 sigma^2).

* KL to the prior, in closed form. With s_j^2 = exp(l_j),
  log q(z) - log p(z) = sum_j [-(1/2) log s_j^2 - (z_j - m_j)^2 / (2 s_j^2) + z_j^2 / 2] (the
  log(2 pi) terms cancel), and E_q[(z_j - m_j)^2] = s_j^2, E_q[z_j^2] = m_j^2 + s_j^2, so

      KL(q(z|x) || N(0, I)) = (1/2) sum_j (m_j^2 + s_j^2 - log s_j^2 - 1).

* Reparameterisation. z = m + exp(l / 2) * e with e ~ N(0, I_k) drawn outside the graph, so the
  Monte-Carlo estimate log p(x | z(e)) is differentiable in the encoder's outputs:
  dz/dm = 1, dz/dl = (1/2) exp(l / 2) e. One sample per example per step.

* The closed-form variance. For a fixed encoder and decoder mean, only the
  likelihood depends on sigma. With r = E_data E_q ||x - mu(z)||^2,

      d/d sigma E[log p(x|z)] = -d / sigma + r / sigma^3 = 0   =>   sigma^2 = r / d,

  the maximum-likelihood variance of the residuals. It is the global maximum: in t = log sigma
  the objective -d t - r exp(-2t) / 2 is strictly concave (second derivative -2 r exp(-2t)), so
  its one stationary point is the maximiser (the log density is neither convex nor concave in
  sigma itself: concavity in log sigma is what makes the stationary point the optimum).

``sigma='optimal'`` performs this coordinate-ascent step once per epoch (``fit_vae`` sets
sigma^2 from a pass over the training data with the current encoder and decoder, then trains the
networks with sigma fixed); ``sigma='learned'`` makes log sigma a parameter trained by the same
optimizer; a float fixes sigma.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor, lift
from .._validation import as_batch
from ..autograd import no_grad
from ..nn.module import Parameter
from ..random import Generator, _generator

LOG_2PI = math.log(2.0 * math.pi)


# ---- the pieces of the ELBO, as functions ----------------------------------------------------


def gaussian_kl_standard(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) = (1/2) sum_j (mu_j^2 + exp(logvar_j) - logvar_j
    - 1), one value per row of ``mu`` and ``logvar`` (N, k) (derivation: module docstring).
    Its gradients: d/dmu = mu, d/dlogvar = (exp(logvar) - 1) / 2."""
    mu, logvar = lift(mu), lift(logvar)
    if mu.shape != logvar.shape or mu.ndim != 2:
        raise ValueError(
            f"gaussian_kl_standard: mu and logvar must both be (N, k), got "
            f"{mu.shape} and {logvar.shape}"
        )
    return (mu * mu + logvar.exp() - logvar - 1).sum(1) * 0.5


def gaussian_log_likelihood(x: Tensor, mean: Tensor, log_sigma: Tensor | float) -> Tensor:
    """log N(x; mean, sigma^2 I_d) = -(d/2) log(2 pi) - d log sigma - ||x - mean||^2 /
    (2 sigma^2) for each row (x, mean: (N, ...), flattened per example to d values;
    ``log_sigma`` a scalar). The exact density, constants included, in nats."""
    x, mean = lift(x), lift(mean)
    if x.shape != mean.shape or x.ndim < 1:
        raise ValueError(
            f"gaussian_log_likelihood: x has shape {x.shape} but mean has shape {mean.shape}"
        )
    log_sigma = lift(log_sigma, x)
    if log_sigma.numel() != 1:
        raise ValueError(
            f"gaussian_log_likelihood: log_sigma must be a scalar (one sigma for "
            f"every dimension), got shape {log_sigma.shape}"
        )
    log_sigma = log_sigma.reshape(())
    n = x.shape[0]
    d = x.numel() // n if n else 0
    diff = (x - mean).reshape(n, -1)
    sq = (diff * diff).sum(1)
    return sq * (-0.5) * (log_sigma * -2).exp() - log_sigma * d - 0.5 * d * LOG_2PI


def reparameterize(
    mu: Tensor, logvar: Tensor, noise: Any = None, generator: Generator | None = None
) -> Tensor:
    """z = mu + exp(logvar / 2) * e, e ~ N(0, I) (the reparameterisation trick): a sample of
    N(mu, diag(exp(logvar))) that is differentiable in mu and logvar. ``noise`` gives e
    explicitly (same shape as mu); otherwise it is drawn from ``generator`` (an
    ``hg.Generator``, the global one if ``None``)."""
    mu, logvar = lift(mu), lift(logvar)
    if mu.shape != logvar.shape:
        raise ValueError(
            f"reparameterize: mu has shape {mu.shape} but logvar has shape {logvar.shape}"
        )
    if noise is None:
        e = _generator(generator).standard_normal(mu.shape).astype(mu.dtype)
    else:
        e = np.asarray(noise._data if isinstance(noise, Tensor) else noise, dtype=mu.dtype)
        if e.shape != mu.shape:
            raise ValueError(
                f"reparameterize: noise has shape {e.shape} but mu has shape {mu.shape}"
            )
    return mu + (logvar * 0.5).exp() * Tensor._wrap(e)


def optimal_sigma2(x: Any, mean: Any) -> float:
    """The closed-form optimal decoder variance sigma^2 = (1/d) E ||x - mu(z)||^2: the mean over
    the rows of (x, mean) (N, ...) of the squared residual, divided by the dimension d. ``mean``
    holds mu(z) for z drawn from q(z|x)."""
    xa = np.asarray(x._data if isinstance(x, Tensor) else x, dtype=np.float64)
    ma = np.asarray(mean._data if isinstance(mean, Tensor) else mean, dtype=np.float64)
    if xa.shape != ma.shape or xa.ndim < 1 or xa.shape[0] == 0:
        raise ValueError(
            f"optimal_sigma2: x has shape {xa.shape} but mean has shape {ma.shape} "
            f"(both must be the same non-empty batch)"
        )
    n = xa.shape[0]
    return float(((xa - ma) ** 2).reshape(n, -1).sum(1).mean() / (xa.size // n))


# ---- the model -------------------------------------------------------------------------------


SIGMA_MODES = ("learned", "optimal")


class VAE(nn.Module):
    """A variational autoencoder with MLP encoder and decoder (module docstring for the maths).

    ``VAE(in_features, latent_dim, hidden=(256,), sigma='learned' | 'optimal' | float)``:

    - ``encoder``: Flatten -> [Linear -> ReLU] per width in ``hidden``; ``fc_mu`` and
      ``fc_logvar`` map its features to the code's mean and log-variance (k = ``latent_dim``);
    - ``decoder``: the mirror image, to d = ``in_features`` outputs, with a sigmoid
      (``output='sigmoid'``, pixel means in [0, 1]) or without (``'linear'``);
    - ``log_sigma``: the decoder's log standard deviation, one scalar: a ``Parameter`` for
      ``'learned'``, a buffer for ``'optimal'`` (set by ``set_optimal_sigma``) and for a fixed
      float.

    ``forward(x)`` returns ``(mean, mu, logvar)``: the decoder mean for one reparameterised
    sample (in ``x``'s shape), and the encoder's outputs. ``elbo(x)`` is the evidence lower bound
    per example in nats; ``loss(x) = -elbo(x)``.
    """

    def __init__(
        self,
        in_features: int = 784,
        latent_dim: int = 2,
        hidden: Sequence[int] = (256,),
        sigma: str | float = "learned",
        output: str = "sigmoid",
        sigma_init: float = 1.0,
    ) -> None:
        super().__init__()
        for name, v in (
            ("in_features", in_features),
            ("latent_dim", latent_dim),
            *((f"hidden[{i}]", h) for i, h in enumerate(hidden)),
        ):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"VAE: {name} must be a positive int, got {v!r}")
        if output not in ("sigmoid", "linear"):
            raise ValueError(f"VAE: output must be 'sigmoid' or 'linear', got {output!r}")
        if isinstance(sigma, str):
            if sigma not in SIGMA_MODES:
                raise ValueError(
                    f"VAE: sigma must be 'learned', 'optimal' or a positive float, got {sigma!r}"
                )
            start = float(sigma_init)
        else:
            start = float(sigma)
            if not (math.isfinite(start) and start > 0):
                raise ValueError(
                    f"VAE: a fixed sigma must be a positive finite float, got {sigma!r}"
                )
        if not (math.isfinite(float(sigma_init)) and float(sigma_init) > 0):
            raise ValueError(f"VAE: sigma_init must be a positive finite float, got {sigma_init!r}")
        self.in_features, self.latent_dim = int(in_features), int(latent_dim)
        self.sigma_mode = sigma if isinstance(sigma, str) else "fixed"

        widths = [in_features, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(widths[-1], latent_dim)
        self.fc_logvar = nn.Linear(widths[-1], latent_dim)
        back = [latent_dim, *hidden[::-1], in_features]
        layers = []
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(back) - 2:
                layers.append(nn.ReLU())
        if output == "sigmoid":
            layers.append(nn.Sigmoid())
        self.decoder = nn.Sequential(*layers)

        log_sigma = np.array(math.log(start), dtype=self.fc_mu.weight.dtype)
        if self.sigma_mode == "learned":
            self.log_sigma = Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", Tensor._wrap(log_sigma))

    # ---- the three maps ----------------------------------------------------------------------

    def _check_input(self, op: str, x: Tensor) -> Tensor:
        x = lift(x)
        if x.ndim < 2 or x.numel() // max(x.shape[0], 1) != self.in_features or x.shape[0] == 0:
            raise ValueError(
                f"VAE.{op}: expected a non-empty batch of {self.in_features} "
                f"features per example, got shape {x.shape}"
            )
        return x

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of q(z|x), each (N, latent_dim)."""
        h = self.encoder(self._check_input("encode", x))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: Tensor) -> Tensor:
        """The decoder mean mu(z), (N, in_features)."""
        z = lift(z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"VAE.decode: expected codes (N, {self.latent_dim}), got shape {z.shape}"
            )
        return self.decoder(z)

    def forward(
        self, x: Tensor, noise: Any = None, generator: Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(mean, mu, logvar): the decoder mean mu(z) in ``x``'s shape for one reparameterised
        z = mu + exp(logvar / 2) e (``noise`` = e, or drawn from ``generator``), and q(z|x)."""
        x = self._check_input("forward", x)
        mu, logvar = self.encode(x)
        mean = self.decode(reparameterize(mu, logvar, noise, generator))
        return mean.reshape(x.shape), mu, logvar

    # ---- the objective -----------------------------------------------------------------------

    @property
    def sigma(self) -> float:
        """The decoder's standard deviation, exp(log_sigma)."""
        return float(np.exp(self.log_sigma._data))

    def elbo_terms(
        self, x: Tensor, noise: Any = None, generator: Generator | None = None
    ) -> dict[str, Tensor]:
        """The pieces of the ELBO for each example (tensors of shape (N,), in the graph):
        ``log_likelihood`` = log p(x | z) for one reparameterised z, ``kl`` = KL(q(z|x) || p(z))
        (analytic), ``elbo`` = their difference, and ``squared_error`` = ||x - mu(z)||^2."""
        x = self._check_input("elbo", x)
        mean, mu, logvar = self(x, noise, generator)
        log_likelihood = gaussian_log_likelihood(x, mean, self.log_sigma)
        kl = gaussian_kl_standard(mu, logvar)
        diff = (x - mean).reshape(x.shape[0], -1)
        return {
            "log_likelihood": log_likelihood,
            "kl": kl,
            "elbo": log_likelihood - kl,
            "squared_error": (diff * diff).sum(1),
        }

    def elbo(
        self,
        x: Tensor,
        reduction: str = "mean",
        noise: Any = None,
        generator: Generator | None = None,
    ) -> Tensor:
        """The evidence lower bound in nats: per example (``'none'``), averaged (``'mean'``, the
        default) or summed. A Monte-Carlo estimate with one sample of z per example, unbiased
        for E_q[log p(x|z)] - KL. Differentiable: ``-vae.elbo(x)`` is the training loss."""
        e = self.elbo_terms(x, noise, generator)["elbo"]
        if reduction == "none":
            return e
        if reduction == "mean":
            return e.mean()
        if reduction == "sum":
            return e.sum()
        raise ValueError(f"VAE.elbo: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")

    def iwae(self, x: Tensor, k: int = 50, generator: Generator | None = None) -> Tensor:
        """The importance-weighted bound (Burda, Grosse and Salakhutdinov, 2016) per example:

            log p(x) >= L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)],  z_i ~ q(z|x),

        computed as logsumexp_i w_i - log k with w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x).
        L_1 is the ELBO (with a sampled rather than analytic KL); L_k rises with k towards
        log p(x), so a large k estimates the log-likelihood in nats. Differentiable (the IWAE
        training objective)."""
        x = self._check_input("iwae", x)
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"VAE.iwae: k must be a positive int, got {k!r}")
        n, dim = x.shape[0], self.latent_dim
        mu, logvar = self.encode(x)
        e = _generator(generator).standard_normal((k, n, dim)).astype(mu.dtype)
        z = mu + (logvar * 0.5).exp() * Tensor._wrap(e)  # (k, N, latent)
        mean = self.decode(z.reshape(k * n, dim))
        xk = x.reshape(1, n, -1).expand(k, n, self.in_features).reshape(k * n, -1)
        log_px = gaussian_log_likelihood(xk, mean, self.log_sigma).reshape(k, n)
        log_pz = (z * z).sum(-1) * -0.5 - 0.5 * dim * LOG_2PI
        log_qz = -0.5 * Tensor._wrap((e * e).sum(-1)) - logvar.sum(-1) * 0.5 - 0.5 * dim * LOG_2PI
        return (log_px + log_pz - log_qz).logsumexp(0) - math.log(k)

    def loss(self, x: Tensor, noise: Any = None, generator: Generator | None = None) -> Tensor:
        """-ELBO averaged over the batch, in nats per example."""
        return -self.elbo(x, "mean", noise, generator)

    # ---- the closed-form variance ------------------------------------------------------------

    def set_sigma(self, sigma: float) -> None:
        """Set the decoder's sigma (for ``'optimal'`` and fixed-sigma models; a learned sigma
        belongs to the optimizer)."""
        if self.sigma_mode == "learned":
            raise ValueError(
                "VAE.set_sigma: this model learns sigma (sigma='learned'); its "
                "value is a parameter of the optimizer"
            )
        if not (math.isfinite(float(sigma)) and float(sigma) > 0):
            raise ValueError(f"VAE.set_sigma: sigma must be a positive finite float, got {sigma!r}")
        self.log_sigma._data[...] = math.log(float(sigma))

    @no_grad()
    def set_optimal_sigma(
        self,
        data: Any,
        batch_size: int = 512,
        noise: Any = None,
        generator: Generator | None = None,
    ) -> float:
        """Set sigma^2 to its closed-form optimum (1/d) E_data E_q ||x - mu(z)||^2 for the
        current encoder and decoder, estimated with one reparameterised z
        per example of ``data`` (N, ...) (``noise`` (N, latent_dim) to fix it). Returns sigma^2.
        """
        if self.sigma_mode != "optimal":
            raise ValueError(
                f"VAE.set_optimal_sigma: the model was built with "
                f"sigma={self.sigma_mode!r}; the closed-form sigma is for "
                f"sigma='optimal'"
            )
        x = as_batch("VAE.set_optimal_sigma", data)
        total = 0.0
        for i in range(0, len(x), batch_size):
            xb = Tensor._wrap(x[i : i + batch_size])
            nb = (
                None
                if noise is None
                else np.asarray(noise._data if isinstance(noise, Tensor) else noise)[
                    i : i + batch_size
                ]
            )
            mean, _, _ = self(xb, nb, generator)
            total += optimal_sigma2(xb, mean) * len(xb)
        sigma2 = total / len(x)
        self.log_sigma._data[...] = 0.5 * math.log(max(sigma2, 1e-12))
        return sigma2

    # ---- generation --------------------------------------------------------------------------

    @no_grad()
    def sample(self, n: int, generator: Generator | None = None) -> Tensor:
        """Decoder means mu(z) of n codes z ~ p(z) = N(0, I) (N, in_features): the usual
        picture of "samples" (adding the pixel noise sigma e would only blur it)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"VAE.sample: n must be a positive int, got {n!r}")
        z = _generator(generator).standard_normal((int(n), self.latent_dim))
        return self.decode(Tensor._wrap(z.astype(self.fc_mu.weight.dtype)))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, latent_dim={self.latent_dim}, "
            f"sigma={self.sigma_mode!r}"
        )


# ---- training and evaluation -----------------------------------------------------------------


@no_grad()
def evaluate_elbo(
    model: VAE, data: Any, batch_size: int = 512, generator: Generator | None = None
) -> dict[str, float]:
    """The mean ELBO of ``data`` in nats per example, with its pieces (``log_likelihood``,
    ``kl``, ``squared_error``) and the current ``sigma``; one z per example from ``generator``.
    """
    x = as_batch("evaluate_elbo", data)
    sums = {"elbo": 0.0, "log_likelihood": 0.0, "kl": 0.0, "squared_error": 0.0}
    model.eval()
    for i in range(0, len(x), batch_size):
        terms = model.elbo_terms(Tensor._wrap(x[i : i + batch_size]), generator=generator)
        for k in sums:
            sums[k] += float(terms[k]._data.astype(np.float64).sum())
    out = {k: v / len(x) for k, v in sums.items()}
    out["sigma"] = model.sigma
    return out


def fit_vae(
    model: VAE,
    data: Any,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 128,
    generator: Generator | None = None,
    val_data: Any = None,
    sigma_lr: float = 0.05,
    verbose: bool = False,
) -> list[dict[str, float]]:
    """Maximise the ELBO with Adam (``hg.optim.Adam``, learning rate ``lr``) on minibatches of
    ``data`` (N, ...) shuffled by ``generator``, which also draws the reparameterisation noise.

    For ``sigma='learned'``, log sigma has its own learning rate ``sigma_lr``. Adam moves every
    parameter by about its learning rate per step whatever the scale of its gradient, and log
    sigma must travel from log(sigma_init) = 0 to about log 0.2 = -1.6 on digits: at the
    networks' 1e-3 that takes some 1,600 steps, and on 1,000 digits for 10 epochs sigma was
    still 0.85 (ELBO -629 nats against +7 for the closed form); at 0.05 it tracks the optimum
    (0.237 against 0.237).

    For ``sigma='optimal'`` each epoch starts with the closed-form step
    sigma^2 <- (1/d) E ||x - mu(z)||^2 for the current networks (``set_optimal_sigma``), and the
    networks then train with that sigma fixed; after the last epoch sigma is set once more, so
    the returned model has the optimal variance for its final weights.

    Returns one record per epoch: ``epoch``, ``train_elbo`` (the mean of the minibatch ELBOs,
    measured while the weights move), ``sigma`` (at the end of the epoch), and ``val_elbo`` if
    ``val_data`` is given.
    """
    from ..data import DataLoader, TensorDataset
    from ..optim import Adam

    op = "fit_vae"
    x = as_batch(op, data)
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")
    if x.reshape(len(x), -1).shape[1] != model.in_features:
        raise ValueError(
            f"{op}: the model expects {model.in_features} features per example, "
            f"data has shape {x.shape}"
        )
    params = [p for name, p in model.named_parameters() if name != "log_sigma"]
    groups: list[dict] = [{"params": params}]
    if model.sigma_mode == "learned":
        groups.append({"params": [model.log_sigma], "lr": sigma_lr})
    optimizer = Adam(groups, lr=lr)
    loader = DataLoader(
        TensorDataset(Tensor._wrap(x)), batch_size=batch_size, shuffle=True, generator=generator
    )
    history = []
    for epoch in range(1, epochs + 1):
        if model.sigma_mode == "optimal":
            model.eval()
            model.set_optimal_sigma(x, generator=generator)
        model.train()
        total = 0.0
        for (batch,) in loader:
            optimizer.zero_grad()
            loss = model.loss(batch, generator=generator)
            loss.backward()
            optimizer.step()
            total += -loss.item() * batch.shape[0]
        if model.sigma_mode == "optimal" and epoch == epochs:
            model.eval()
            model.set_optimal_sigma(x, generator=generator)
        record = {"epoch": epoch, "train_elbo": total / len(x), "sigma": model.sigma}
        if val_data is not None:
            record["val_elbo"] = evaluate_elbo(model, val_data, generator=generator)["elbo"]
        history.append(record)
        if verbose:
            extra = f", val ELBO {record['val_elbo']:.2f}" if "val_elbo" in record else ""
            print(
                f"epoch {epoch}/{epochs}: train ELBO {record['train_elbo']:.2f} nats, "
                f"sigma {record['sigma']:.4f}{extra}",
                flush=True,
            )
    model.eval()
    return history


__all__ = [
    "LOG_2PI",
    "SIGMA_MODES",
    "VAE",
    "evaluate_elbo",
    "fit_vae",
    "gaussian_kl_standard",
    "gaussian_log_likelihood",
    "optimal_sigma2",
    "reparameterize",
]
