"""Per-example gradients and an Adam whose second moment is built from them (used in exercises
003-p3a..d).

For a linear layer y[b, j] = sum_i W[j, i] x[b, i] (+ bias), the batch gradient with the loss
averaged over the batch is W.grad[j, i] = (1/B) sum_b y.grad_b[b, j] x[b, i], where y.grad_b is
the gradient of example b's own loss; the gradient of example b alone is
W.grad[b, j, i] = y.grad_b[b, j] x[b, i]. Both need only what the forward and backward pass
already see at the layer: its input x and the gradient of its output. ``per_sample_grad`` catches
those two with forward hooks (x) and tensor hooks (the output gradient) during one forward and
one backward pass of the whole batch, then forms the per-example outer products: no loop over
the batch. For a convolution the same holds after ``F.unfold`` (im2col) turns it into a matrix
product over the output positions: W.grad[b] = gy[b] (C_out, L) @ unfold(x)[b]^T (L, C_in k k).

Why it matters: the mean of the squared per-example gradients cannot be computed
from the batch gradient (the mean does not determine the variance), yet it is what RMSProp and
Adam's second moment are meant to estimate; with the square of the batch mean instead, the
estimate shrinks like mean^2 + variance / B as the batch grows. ``PerSampleAdam`` uses the
per-example second moment; ``handgrad.exercises.experiments`` shows the difference.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import autograd
from .._tensor import Tensor, lift
from ..composed.resample import unfold
from ..nn.conv import Conv1d, Conv2d
from ..nn.linear import Linear, NormalizedLinear
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..ops.normalized_linear import weight_and_bias_grads
from ..optim.adam import Adam

_SUPPORTED = (Linear, Conv1d, Conv2d)  # NormalizedLinear is a Linear


def _loss_scale(loss_fn: Any, loss_reduction: str | None, batch: int) -> tuple[str, float]:
    reduction = loss_reduction or getattr(loss_fn, "reduction", None) or "mean"
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"per_sample_grad: loss_reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )
    return reduction, float(batch) if reduction == "mean" else 1.0


def _linear_grads(m: Linear, x: np.ndarray, gy: np.ndarray, y: np.ndarray) -> dict:
    b = x.shape[0]
    x3 = x.reshape(b, -1, x.shape[-1])  # (B, positions, in): extra dims are summed over
    g3 = gy.reshape(b, -1, gy.shape[-1])
    out: dict = {}
    w = m.weight._data
    if isinstance(m, NormalizedLinear):  # the primitive's own formulas, one gradient per example
        r = np.sqrt((w * w).sum(1))
        out["weight"], gb = weight_and_bias_grads(g3 / r, x3, y.reshape(b, -1, y.shape[-1]), w, r)
        if m.bias is not None:
            out["bias"] = gb
        return out
    out["weight"] = np.einsum("bpo,bpi->boi", g3, x3)  # W.grad[b, j, i] = y.grad[b, j] x[b, i]
    if m.bias is not None:
        out["bias"] = g3.sum(1)
    return out


def _conv_pads(m: Any, nd: int, spatial: tuple) -> list[tuple[int, int]]:
    if m.padding == "valid":
        return [(0, 0)] * nd
    if m.padding == "same":
        pads = []
        for k, d in zip(m.kernel_size, m.dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))  # PyTorch puts the odd one on the right
        return pads
    return [(p, p) for p in m.padding]


def _conv_grads(m: Any, x: np.ndarray, gy: np.ndarray) -> dict:
    nd = 1 if isinstance(m, Conv1d) else 2
    if nd == 1:  # a 1-D convolution is a 2-D one over a height-1 image
        x, gy = x[:, :, None, :], gy[:, :, None, :]
        kernel, stride, dilation = (1,) + m.kernel_size, (1,) + m.stride, (1,) + m.dilation
        pads = [(0, 0)] + _conv_pads(m, 1, x.shape[3:])
    else:
        kernel, stride, dilation = m.kernel_size, m.stride, m.dilation
        pads = _conv_pads(m, 2, x.shape[2:])
    x = np.pad(x, [(0, 0), (0, 0)] + pads)
    cols = unfold(Tensor._wrap(x), kernel, dilation, 0, stride)._data  # (B, C_in kh kw, L)
    b, c_out = gy.shape[:2]
    groups = m.groups
    cols = cols.reshape(b, groups, -1, cols.shape[-1])
    g = gy.reshape(b, groups, c_out // groups, -1)
    gw = np.einsum("bgol,bgkl->bgok", g, cols).reshape((b,) + m.weight.shape)
    out = {"weight": gw}
    if m.bias is not None:
        out["bias"] = gy.reshape(b, c_out, -1).sum(-1)
    return out


def _loop(
    model: Module, loss_fn: Callable, x: Tensor, y: Any, params: list, scale: float, reduction: str
) -> dict:
    """One forward and backward pass per example (the reference, and the fallback)."""
    per: dict = {name: [] for name, _ in params}
    for b in range(x.shape[0]):
        yb = y[b : b + 1] if y is not None else None
        loss = loss_fn(model(x[b : b + 1]), yb) if yb is not None else loss_fn(model(x[b : b + 1]))
        if reduction == "none":
            loss = loss.sum()
        grads = autograd.grad(loss, [p for _, p in params], allow_unused=True)
        for (name, p), g in zip(params, grads):
            per[name].append(np.zeros(p.shape, p.dtype) if g is None else g._data)
    return {name: np.stack(v) for name, v in per.items()}


def per_sample_grad(
    model: Module,
    loss_fn: Callable,
    x: Any,
    y: Any = None,
    *,
    loss_reduction: str | None = None,
    method: str = "auto",
    set_grads: bool = False,
) -> OrderedDict[str, Tensor]:
    """The gradient of each example's own loss, loss_fn(model(x[b:b+1]), y[b:b+1]), with respect
    to every parameter: ``{name: Tensor of shape (B, *param.shape)}``.

    ``method='hooks'`` computes them all from one batched forward and backward pass (Linear,
    NormalizedLinear, Conv1d and Conv2d layers; other layers may appear as long as they have no
    parameters). ``'loop'`` runs one example at a time (any model). ``'auto'`` uses hooks when the
    model allows it. ``loss_reduction`` ('mean', 'sum' or 'none'; by default the loss module's
    ``reduction``, else 'mean') says how ``loss_fn`` combines examples, so that the batched pass
    can be rescaled to per-example losses; with 'mean', the mean of the per-example gradients is
    the batch gradient. ``set_grads=True`` also stores the batch gradient in ``param.grad``
    (accumulating, like ``backward``). The per-example gradients are only returned, never stored
    on the parameters: hand them on, e.g. ``PerSampleAdam.step(grad_samples)``.

    Batch normalization in training mode mixes the examples, so per-example gradients are not
    defined there: an error.
    """
    if method not in ("auto", "hooks", "loop"):
        raise ValueError(
            f"per_sample_grad: method must be 'auto', 'hooks' or 'loop', got {method!r}"
        )
    x = lift(x)
    if x.ndim == 0:
        raise ValueError("per_sample_grad: x needs a batch dimension")
    batch = x.shape[0]
    if y is not None and len(y) != batch:
        raise ValueError(f"per_sample_grad: x has {batch} examples but y has {len(y)}")
    for name, m in model.named_modules():
        if isinstance(m, _BatchNorm) and m.training:
            raise ValueError(
                f"per_sample_grad: module {name or type(m).__name__} is {type(m).__name__} in "
                "training mode, which mixes the examples of a batch; call model.eval() or use "
                "a per-example normalization (LayerNorm)"
            )
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError("per_sample_grad: the model has no parameters that require grad")
    reduction, scale = _loss_scale(loss_fn, loss_reduction, batch)

    owners: dict = {}
    hookable = True
    for m in model.modules():
        own = [(k, p) for k, p in m._parameters.items() if p is not None and p.requires_grad]
        if not own:
            continue
        if not isinstance(m, _SUPPORTED):
            hookable = False
            break
        for k, p in own:
            owners[id(p)] = (m, k)
    if method == "hooks" and not hookable:
        unsupported = sorted(
            {
                type(m).__name__
                for _, m in model.named_modules()
                if any(p is not None for p in m._parameters.values())
                and not isinstance(m, _SUPPORTED)
            }
        )
        raise NotImplementedError(
            f"per_sample_grad: method='hooks' supports Linear, NormalizedLinear, Conv1d and "
            f"Conv2d parameters, not {unsupported}; use method='loop'"
        )

    if method == "loop" or not hookable:
        per = _loop(model, loss_fn, x, y, params, scale, reduction)
        batch_grads = None
    else:
        per, batch_grads = _hooked(model, loss_fn, x, y, params, owners, scale, reduction)

    result: OrderedDict[str, Tensor] = OrderedDict()
    for name, p in params:
        result[name] = Tensor._wrap(per[name].astype(p.dtype, copy=False))
    if set_grads:
        for i, (name, p) in enumerate(params):
            if batch_grads is not None and batch_grads[i] is not None:
                g = batch_grads[i]._data
            else:
                g = per[name].sum(0) / scale
            g = g.astype(p.dtype, copy=False)
            p.grad = Tensor._wrap(np.array(g)) if p.grad is None else p.grad + Tensor._wrap(g)
    return result


def _hooked(
    model: Module,
    loss_fn: Callable,
    x: Tensor,
    y: Any,
    params: list,
    owners: dict,
    scale: float,
    reduction: str,
) -> tuple[dict, list]:
    records: dict = {}  # module -> list of [input, output value, output gradient]
    handles = []

    def forward_hook(module: Module, args: tuple, out: Tensor) -> None:
        rec = [args[0]._data, out._data, None]
        records.setdefault(module, []).append(rec)
        if out.requires_grad:

            def grad_hook(g: Tensor) -> None:
                rec[2] = g._data if rec[2] is None else rec[2] + g._data

            out.register_hook(grad_hook)

    for m in {id(m): m for m, _ in owners.values()}.values():
        handles.append(m.register_forward_hook(forward_hook))
    try:
        out = model(x)
        loss = loss_fn(out, y) if y is not None else loss_fn(out)
        if reduction == "none":
            loss = loss.sum()
        batch_grads = autograd.grad(loss, [p for _, p in params], allow_unused=True)
    finally:
        for h in handles:
            h.remove()

    per_module: dict = {}
    for m, recs in records.items():
        total: dict = {}
        for xin, yout, gy in recs:
            if gy is None:
                continue
            grads = (
                _linear_grads(m, xin, gy, yout)
                if isinstance(m, Linear)
                else _conv_grads(m, xin, gy)
            )
            for k, v in grads.items():
                total[k] = total[k] + v if k in total else v
        per_module[m] = total
    per = {}
    for name, p in params:
        m, k = owners[id(p)]
        g = per_module.get(m, {}).get(k)
        per[name] = np.zeros((x.shape[0],) + p.shape, p.dtype) if g is None else g * scale
    return per, list(batch_grads)


class PerSampleAdam(Adam):
    r"""Adam whose second moment averages the *per-example* squared gradients::

        gbar <- mean_b g_b                    (the batch gradient, for the first moment)
        m <- beta1 m + (1 - beta1) gbar
        v <- beta2 v + (1 - beta2) mean_b g_b^2        (Adam: gbar^2)
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

    where g_b is example b's gradient, given to ``step``::

        per = per_sample_grad(model, loss_fn, x, y)
        opt.step({p: per[name] for name, p in model.named_parameters()})

    (a mapping from each parameter to its per-example gradients (B, *shape); parameters left
    out are not updated). Adam's v estimates
    E[gbar^2] = mean^2 + variance / B, which shrinks with the batch size B, so the effective step
    lr / sqrt(v) grows with B; mean_b g_b^2 estimates E[g^2] = mean^2 + variance whatever B is
    ``weight_decay`` adds the L2 gradient to every g_b. AMSGrad is
    supported as in ``Adam``. State as Adam's.
    """

    def step(
        self,
        grad_samples: Mapping[Tensor, Any],  # type: ignore[override]
        closure: Callable[[], Any] | None = None,
    ) -> Any:
        """One update from ``grad_samples``: parameter -> its per-example gradients
        (B, *shape), as ``per_sample_grad`` returns them by name."""
        if not isinstance(grad_samples, Mapping):
            raise TypeError(
                f"PerSampleAdam.step: grad_samples must map each parameter to its "
                f"per-example gradients, got {type(grad_samples).__name__}"
            )
        self._grad_samples = grad_samples
        try:
            return super().step(closure)
        finally:
            self._grad_samples = {}

    def _moments(self, p: Any, group: dict, i: int) -> tuple | None:
        """The mean of the per-example gradients for the first moment and the mean of their
        squares for the second (Adam's step otherwise); ``weight_decay`` adds the L2 gradient
        to every g_b."""
        gs = self._grad_samples.get(p)
        if gs is None:
            return None
        theta = p._data
        g_b = gs._data if isinstance(gs, Tensor) else np.asarray(gs)
        if g_b.shape[1:] != theta.shape:
            raise RuntimeError(
                f"PerSampleAdam: per-example gradients of shape {g_b.shape} "
                f"do not match parameter {i} of shape {p.shape}"
            )
        if group.get("maximize"):
            g_b = -g_b
        if group["weight_decay"] != 0:
            g_b = g_b + group["weight_decay"] * theta
        return g_b.mean(0), (g_b * g_b).mean(0)


__all__ = ["per_sample_grad", "PerSampleAdam"]
