"""Custom autograd functions as the "learning PyTorch with examples" tutorial defines them:
``LegendrePolynomial3(torch.autograd.Function)`` with static ``forward(ctx, input)`` /
``backward(ctx, grad_output)``, ``ctx.save_for_backward`` and ``ctx.saved_tensors``, trained by
hand-written SGD; then a straight-through quantiser, a function with two outputs (one marked
non-differentiable), the torch 2 style with ``setup_context``, ``ctx.needs_input_grad``,
``once_differentiable``, a second derivative through a custom backward (``create_graph``) and
``torch.autograd.gradcheck`` / ``gradgradcheck`` on float64 inputs."""

import math

import torch
from torch.autograd.function import once_differentiable

TOLERANCE = {"losses": (1e-4, 1e-6), "coefficients": (1e-4, 1e-6)}


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, step):
        return torch.round(x / step) * step

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class SortWithIndex(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        values, index = torch.sort(x, dim=-1)
        ctx.mark_non_differentiable(index)
        ctx.save_for_backward(index)
        return values, index

    @staticmethod
    def backward(ctx, grad_values, grad_index):
        (index,) = ctx.saved_tensors
        return torch.zeros_like(grad_values).scatter(-1, index, grad_values)


class ScaledTanh(torch.autograd.Function):
    @staticmethod
    def forward(x, scale):
        return torch.tanh(x) * scale

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, scale = inputs
        ctx.save_for_backward(x, scale)

    @staticmethod
    def backward(ctx, grad):
        x, scale = ctx.saved_tensors
        grad_x = grad_scale = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * scale * (1 - torch.tanh(x) ** 2)
        if ctx.needs_input_grad[1]:
            grad_scale = (grad * torch.tanh(x)).sum()
        return grad_x, grad_scale


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


def main():
    torch.manual_seed(0)
    dtype = torch.float32
    x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for t in range(300):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 50 == 49:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None

    w = torch.tensor([0.26, -0.74, 1.3], requires_grad=True)
    q = RoundSTE.apply(w, 0.5)
    (q * torch.tensor([1.0, 2.0, 3.0])).sum().backward()

    v = torch.tensor([[3.0, 1.0, 2.0], [0.5, -1.0, 4.0]], requires_grad=True)
    values, index = SortWithIndex.apply(v)
    (values * torch.tensor([1.0, 10.0, 100.0])).sum().backward()

    s = torch.tensor([0.3, -1.2], requires_grad=True)
    scale = torch.tensor(2.0, requires_grad=True)
    ScaledTanh.apply(s, scale).sum().backward()
    frozen_scale = torch.tensor(2.0)
    only_x = torch.autograd.grad(ScaledTanh.apply(s, frozen_scale).sum(), s)[0]

    # a second derivative through a custom backward written with differentiable operations
    z = torch.tensor([0.5, -0.25], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(LegendrePolynomial3.apply(z).sum(), z, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), z)
    e = torch.tensor([0.1, 0.2], requires_grad=True)
    Exp.apply(e).sum().backward()

    z64 = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    checks = [
        torch.autograd.gradcheck(LegendrePolynomial3.apply, (z64,)),
        torch.autograd.gradgradcheck(LegendrePolynomial3.apply, (z64,)),
        torch.autograd.gradcheck(
            lambda t: ScaledTanh.apply(t, torch.tensor(1.5, dtype=torch.float64)), (z64,)
        ),
    ]
    return {
        "losses": losses,
        "coefficients": [a.item(), b.item(), c.item(), d.item()],
        "ste_value": q.tolist(),
        "ste_grad": w.grad.tolist(),
        "sorted": values.tolist(),
        "index": index.tolist(),
        "index_requires_grad": index.requires_grad,
        "sort_grad": v.grad.tolist(),
        "scaled_tanh_grads": s.grad.tolist() + [scale.grad.item()],
        "only_x": only_x.tolist(),
        "second_derivative": h.tolist(),
        "exp_grad": e.grad.tolist(),
        "checks": checks,
    }
