"""``handgrad.distributions``: the distributions of a VAE or a policy gradient, with
``torch.distributions``' names. Every density is written with handgrad ops, so ``log_prob``,
``entropy``, ``kl_divergence`` and reparameterised samples (``rsample``) are differentiable in
the parameters:

    Normal(mu, sigma):  log p(x) = -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
                        rsample = mu + sigma eps, eps ~ N(0, 1)  (the reparameterisation trick)
                        KL(N1 || N2) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
    Bernoulli(p):       log p(x) = x log p + (1 - x) log(1 - p), through the logits l:
                        -softplus(-l) x - softplus(l) (1 - x)  (no log of 0)
    Categorical(p):     log p(k) = log_softmax(logits)[k];  entropy = -sum p log p
    Uniform(a, b):      log p(x) = -log(b - a) on [a, b)
    Independent(d, n):  d with its n rightmost batch dims read as event dims: log_prob and
                        entropy summed over them (a diagonal Gaussian as one distribution)
    Exponential(r):     log p(x) = log r - r x;  rsample = -log(U) / r
    Laplace(m, b):      log p(x) = -log(2 b) - |x - m| / b;  rsample = m - b sign(u) log(1 - |u|),
                        u ~ U(-1, 1)
    LogNormal(m, s):    exp of a Normal(m, s): log p(x) = log N(log x; m, s) - log x
    OneHotCategorical:  a Categorical whose values are one-hot vectors (event_shape (K,))

The reparameterised Normal sample is what lets a VAE's encoder learn through the sampling
step (``handgrad.models.VAE``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import composed, ops
from ._tensor import Tensor, lift
from .autograd import no_grad
from .nn import functional as F
from .random import _generator


def _shape(sample_shape: Any) -> tuple:
    return tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)


class Distribution:
    """Base class: ``batch_shape``, ``sample(sample_shape)``, ``log_prob(value)``,
    ``entropy()``, ``mean``, ``variance``, ``stddev``."""

    has_rsample = False
    event_shape: tuple = ()

    def __init__(self, batch_shape: tuple, validate_args: bool | None = None) -> None:
        self.batch_shape = tuple(batch_shape)
        self._validate = validate_args is not False

    def sample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        """A sample without a graph (``rsample`` keeps one where the family allows it)."""
        if self.has_rsample:
            with no_grad():
                return self.rsample(sample_shape, generator)
        return self._sample(sample_shape, generator)

    @property
    def stddev(self) -> Tensor:
        return ops.sqrt(self.variance)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_shape={self.batch_shape})"


def _check_positive(name: str, what: str, t: Tensor) -> None:
    if np.any(~(t._data > 0)):
        raise ValueError(f"{name}: {what} must be positive, got {t._data.min()}")


class Normal(Distribution):
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        loc = lift(loc)
        if loc._data.dtype.kind != "f":
            loc = loc.to(np.float32)
        self.loc = loc
        self.scale = lift(scale, loc)
        if validate_args is not False:
            _check_positive("Normal", "scale", self.scale)
        self.loc, self.scale = composed.broadcast_tensors(self.loc, self.scale)
        super().__init__(self.loc.shape, validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        shape = _shape(sample_shape) + self.batch_shape
        eps = _generator(generator).standard_normal(shape).astype(self.loc._data.dtype)
        return self.loc + self.scale * Tensor._wrap(eps)

    def log_prob(self, value: Any) -> Tensor:
        x = lift(value, self.loc)
        z = (x - self.loc) / self.scale
        return z * z * -0.5 - ops.log(self.scale) - 0.5 * math.log(2 * math.pi)

    def entropy(self) -> Tensor:
        return ops.log(self.scale) + 0.5 * (1 + math.log(2 * math.pi))

    def cdf(self, value: Any) -> Tensor:
        x = lift(value, self.loc)
        return (ops.erf((x - self.loc) / (self.scale * math.sqrt(2))) + 1) * 0.5


class Bernoulli(Distribution):
    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: give exactly one of probs and logits")
        if probs is not None:
            p = lift(probs)
            if np.any((p._data < 0) | (p._data > 1)):
                raise ValueError(
                    f"Bernoulli: probs must be in [0, 1], got {p._data.min()}..{p._data.max()}"
                )
            self.probs = p
            eps = np.finfo(p._data.dtype).eps
            pc = ops.clamp(p, eps, 1 - eps)
            self.logits = ops.log(pc) - ops.log1p(-pc)
        else:
            self.logits = lift(logits)
            self.probs = ops.sigmoid(self.logits)
        super().__init__(self.logits.shape, validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def _sample(self, sample_shape: Any, generator: Any) -> Tensor:
        shape = _shape(sample_shape) + self.batch_shape
        u = _generator(generator).random(shape)
        return Tensor._wrap((u < self.probs._data).astype(self.probs._data.dtype))

    def log_prob(self, value: Any) -> Tensor:
        x = lift(value, self.logits)
        return -(ops.softplus(-self.logits) * x + ops.softplus(self.logits) * (1 - x))

    def entropy(self) -> Tensor:
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: give exactly one of probs and logits")
        if probs is not None:
            p = lift(probs)
            if np.any(p._data < 0) or p.ndim == 0:
                raise ValueError(
                    f"Categorical: probs must be non-negative with a last dim of "
                    f"categories, got shape {p.shape}"
                )
            p = p / p.sum(-1, keepdim=True)
            self.logits = ops.log(ops.clamp(p, min=np.finfo(p._data.dtype).tiny))
        else:
            lg = lift(logits)
            self.logits = lg - ops.logsumexp(lg, -1, keepdim=True)
        self.probs = ops.softmax(self.logits, -1)
        self.num_categories = self.logits.shape[-1]
        super().__init__(self.logits.shape[:-1], validate_args)

    @property
    def mean(self) -> Tensor:
        return Tensor._wrap(np.full(self.batch_shape, np.nan))

    @property
    def variance(self) -> Tensor:
        return Tensor._wrap(np.full(self.batch_shape, np.nan))

    def _sample(self, sample_shape: Any, generator: Any) -> Tensor:
        shape = _shape(sample_shape) + self.batch_shape
        cdf = np.cumsum(self.probs._data, -1)
        u = _generator(generator).random(shape + (1,))
        return Tensor._wrap(np.minimum((u > cdf).sum(-1), self.num_categories - 1).astype(np.int64))

    def log_prob(self, value: Any) -> Tensor:
        k = lift(value)
        if k._data.dtype.kind not in "iu":
            raise ValueError(f"Categorical: values must be integer categories, got {k.dtype}")
        if k._data.size and (k._data.min() < 0 or k._data.max() >= self.num_categories):
            raise ValueError(
                f"Categorical: values must be in [0, {self.num_categories}), got "
                f"{k._data.min()}..{k._data.max()}"
            )
        shape = np.broadcast_shapes(k.shape, self.batch_shape)
        lg = self.logits.expand(shape + (self.num_categories,))
        idx = Tensor._wrap(np.broadcast_to(k._data, shape)[..., None].astype(np.int64))
        return ops.gather(lg, -1, idx).squeeze(-1)

    def entropy(self) -> Tensor:
        return -(self.probs * self.logits).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every category, shaped (K,) + (1,) * batch dims (expanded to the batch shape)."""
        k = Tensor._wrap(np.arange(self.num_categories, dtype=np.int64))
        values = k.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + self.batch_shape) if expand else values


class Uniform(Distribution):
    has_rsample = True

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        lo = lift(low)
        if lo._data.dtype.kind != "f":
            lo = lo.to(np.float32)
        hi = lift(high, lo)
        if np.any(~(hi._data > lo._data)):
            raise ValueError("Uniform: high must exceed low everywhere")
        self.low, self.high = composed.broadcast_tensors(lo, hi)
        super().__init__(self.low.shape, validate_args)

    @property
    def mean(self) -> Tensor:
        return (self.low + self.high) * 0.5

    @property
    def variance(self) -> Tensor:
        w = self.high - self.low
        return w * w / 12

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        shape = _shape(sample_shape) + self.batch_shape
        u = Tensor._wrap(_generator(generator).random(shape).astype(self.low._data.dtype))
        return self.low + (self.high - self.low) * u

    def log_prob(self, value: Any) -> Tensor:
        x = lift(value, self.low)
        inside = Tensor._wrap((x._data >= self.low._data) & (x._data < self.high._data))
        return ops.where(inside, -ops.log(self.high - self.low), -math.inf)

    def entropy(self) -> Tensor:
        return ops.log(self.high - self.low)


class Exponential(Distribution):
    has_rsample = True

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        r = lift(rate)
        self.rate = r if r._data.dtype.kind == "f" else r.to(np.float32)
        if validate_args is not False:
            _check_positive("Exponential", "rate", self.rate)
        super().__init__(self.rate.shape, validate_args)

    @property
    def mean(self) -> Tensor:
        return 1 / self.rate

    @property
    def variance(self) -> Tensor:
        return 1 / (self.rate * self.rate)

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        shape = _shape(sample_shape) + self.batch_shape
        e = _generator(generator).standard_exponential(shape).astype(self.rate._data.dtype)
        return Tensor._wrap(e) / self.rate

    def log_prob(self, value: Any) -> Tensor:
        return ops.log(self.rate) - self.rate * lift(value, self.rate)

    def entropy(self) -> Tensor:
        return 1 - ops.log(self.rate)

    def cdf(self, value: Any) -> Tensor:
        return 1 - ops.exp(-self.rate * lift(value, self.rate))


class Laplace(Distribution):
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        loc = lift(loc)
        loc = loc if loc._data.dtype.kind == "f" else loc.to(np.float32)
        scale = lift(scale, loc)
        if validate_args is not False:
            _check_positive("Laplace", "scale", scale)
        self.loc, self.scale = composed.broadcast_tensors(loc, scale)
        super().__init__(self.loc.shape, validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale * self.scale

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        shape = _shape(sample_shape) + self.batch_shape
        dtype = self.loc._data.dtype
        # u in (-1, 1), kept off the ends as torch's, so that log1p(-|u|) stays finite
        eps = np.finfo(dtype).eps
        u = Tensor._wrap(_generator(generator).uniform(eps - 1, 1, shape).astype(dtype))
        return self.loc - self.scale * ops.sign(u) * ops.log1p(-ops.abs(u))

    def log_prob(self, value: Any) -> Tensor:
        x = lift(value, self.loc)
        return -ops.log(2 * self.scale) - ops.abs(x - self.loc) / self.scale

    def entropy(self) -> Tensor:
        return 1 + ops.log(2 * self.scale)

    def cdf(self, value: Any) -> Tensor:
        d = lift(value, self.loc) - self.loc
        return 0.5 - 0.5 * ops.sign(d) * ops.expm1(-ops.abs(d) / self.scale)


class LogNormal(Distribution):
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.base_dist = Normal(loc, scale, validate_args)
        self.loc, self.scale = self.base_dist.loc, self.base_dist.scale
        super().__init__(self.base_dist.batch_shape, validate_args)

    @property
    def mean(self) -> Tensor:
        return ops.exp(self.loc + self.scale * self.scale / 2)

    @property
    def variance(self) -> Tensor:
        s2 = self.scale * self.scale
        return ops.expm1(s2) * ops.exp(2 * self.loc + s2)

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        return ops.exp(self.base_dist.rsample(sample_shape, generator))

    def log_prob(self, value: Any) -> Tensor:
        log_x = ops.log(lift(value, self.loc))
        return self.base_dist.log_prob(log_x) - log_x

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class OneHotCategorical(Distribution):
    """A ``Categorical`` whose samples are one-hot vectors over the last dim."""

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        self._categorical = Categorical(probs, logits, validate_args)
        self.probs, self.logits = self._categorical.probs, self._categorical.logits
        super().__init__(self._categorical.batch_shape, validate_args)
        self.event_shape = (self._categorical.num_categories,)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def _sample(self, sample_shape: Any, generator: Any) -> Tensor:
        k = self._categorical.sample(sample_shape, generator)._data
        eye = np.eye(self.event_shape[0], dtype=self.probs._data.dtype)
        return Tensor._wrap(eye[k])

    def log_prob(self, value: Any) -> Tensor:
        v = lift(value)
        return self._categorical.log_prob(Tensor._wrap(v._data.argmax(-1)))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.event_shape[0]
        values = Tensor._wrap(np.eye(n, dtype=self.probs._data.dtype))
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + self.batch_shape + (n,)) if expand else values


def _sum_rightmost(x: Tensor, n: int) -> Tensor:
    return x.sum(tuple(range(-n, 0))) if n else x


class Independent(Distribution):
    """``base_distribution`` with its ``reinterpreted_batch_ndims`` rightmost batch dims taken
    as event dims, as torch's: ``Independent(Normal(mu, sigma), 1)`` is a diagonal Gaussian
    whose ``log_prob`` of a vector is one number."""

    def __init__(
        self,
        base_distribution: Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        n = int(reinterpreted_batch_ndims)
        base = base_distribution
        if not 0 <= n <= len(base.batch_shape):
            raise ValueError(
                f"Independent: reinterpreted_batch_ndims must be in [0, {len(base.batch_shape)}] "
                f"for a base of batch_shape {base.batch_shape}, got {n}"
            )
        self.base_dist, self.reinterpreted_batch_ndims = base, n
        shape = base.batch_shape + base.event_shape
        cut = len(base.batch_shape) - n
        super().__init__(shape[:cut], validate_args)
        self.event_shape = shape[cut:]
        self.has_rsample = base.has_rsample  # type: ignore[misc]

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean  # type: ignore[attr-defined, no-any-return]

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance  # type: ignore[attr-defined, no-any-return]

    def sample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        return self.base_dist.sample(sample_shape, generator)

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        return self.base_dist.rsample(sample_shape, generator)  # type: ignore[attr-defined, no-any-return]

    def log_prob(self, value: Any) -> Tensor:
        lp = self.base_dist.log_prob(value)  # type: ignore[attr-defined]
        return _sum_rightmost(lp, self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        h = self.base_dist.entropy()  # type: ignore[attr-defined]
        return _sum_rightmost(h, self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) = E_p[log p - log q] in closed form for two distributions of the same family
    (Normal, Bernoulli, Categorical), or of two ``Independent`` wrapping such a pair."""
    if isinstance(p, Independent) and isinstance(q, Independent):
        if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
            raise NotImplementedError(
                "kl_divergence: Independent distributions with different reinterpreted_batch_ndims"
            )
        kl = kl_divergence(p.base_dist, q.base_dist)
        return _sum_rightmost(kl, p.reinterpreted_batch_ndims)
    if isinstance(p, Normal) and isinstance(q, Normal):
        ratio = p.scale / q.scale
        d = (p.loc - q.loc) / q.scale
        return (ratio * ratio + d * d - 1) * 0.5 - ops.log(ratio)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        # sum over x in {0, 1} of p(x) (log p(x) - log q(x)), through the logits
        lp1, lq1 = -ops.softplus(-p.logits), -ops.softplus(-q.logits)
        lp0, lq0 = -ops.softplus(p.logits), -ops.softplus(q.logits)
        return p.probs * (lp1 - lq1) + (1 - p.probs) * (lp0 - lq0)
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        return (p.probs * (p.logits - q.logits)).sum(-1)
    raise NotImplementedError(
        f"kl_divergence: no closed form for {type(p).__name__} and {type(q).__name__}"
    )


__all__ = [
    "Distribution",
    "Normal",
    "Bernoulli",
    "Categorical",
    "Uniform",
    "Independent",
    "Exponential",
    "Laplace",
    "LogNormal",
    "OneHotCategorical",
    "kl_divergence",
]
