"""Hooks as interpretability and debugging code uses them: ``register_forward_hook`` capturing
activations into a dict (and one returning a replacement output), ``register_forward_pre_hook``,
``register_full_backward_hook`` recording grad_output / grad_input norms, ``Tensor.register_hook``
scaling a gradient on its way back, ``retain_grad()`` on an intermediate, hooks registered with
``with_kwargs=True`` / ``prepend=True`` on a module called with a keyword argument, and handles
removed with ``.remove()`` so later passes run without them."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_model():
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.6, 0.6, tuple(p.shape)).astype(np.float32)))
    return model


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((4, 5)).astype(np.float32))
    y = torch.tensor([0, 2, 1, 2])
    model = make_model()

    activations = {}

    def save(name):
        def hook(module, inputs, output):
            activations[name] = output.detach().clone()

        return hook

    handles = [model[i].register_forward_hook(save(f"layer{i}")) for i in (0, 2, 4)]

    pre_calls = []

    def pre_hook(module, inputs):
        pre_calls.append(tuple(inputs[0].shape))
        return (inputs[0] * 0.5,)

    handles.append(model[2].register_forward_pre_hook(pre_hook))

    backward_records = []

    def backward_hook(module, grad_input, grad_output):
        backward_records.append(
            [
                type(module).__name__,
                float(grad_output[0].norm()),
                float(grad_input[0].norm()) if grad_input[0] is not None else -1.0,
            ]
        )

    handles.append(model[2].register_full_backward_hook(backward_hook))
    handles.append(model[3].register_full_backward_hook(backward_hook))

    # a forward hook whose return value replaces the output (clamps the logits)
    handles.append(model[4].register_forward_hook(lambda m, i, o: o.clamp(-1.0, 1.0)))

    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    weight_grad = model[2].weight.grad.flatten()[:6].tolist()

    # a gradient hook on an intermediate tensor, and retain_grad on another
    model.zero_grad()
    hidden = model[1](model[0](x))
    hidden.retain_grad()
    seen = []

    def double(g):
        seen.append(float(g.abs().sum()))
        return g * 2

    middle = model[3](model[2](hidden))
    hook_handle = middle.register_hook(double)
    loss2 = F.cross_entropy(model[4](middle), y)
    loss2.backward()
    hidden_grad = hidden.grad.flatten()[:8].tolist()
    hooked_grad = model[0].weight.grad.flatten()[:6].tolist()
    hook_handle.remove()

    for h in handles:
        h.remove()
    activations.clear()
    model.zero_grad()
    plain = model(x)
    F.cross_entropy(plain, y).backward()

    # hooks that see keyword arguments, one of them put first
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, x, temperature=1.0):
            return self.fc(x) / temperature

    scaled = Scaled()
    with torch.no_grad():
        scaled.fc.weight.copy_(model[0].weight[:2])
        scaled.fc.bias.copy_(model[0].bias[:2])
    order = []
    scaled.register_forward_pre_hook(
        lambda m, args, kwargs: (args, {**kwargs, "temperature": kwargs["temperature"] * 2}),
        with_kwargs=True,
    )
    scaled.register_forward_hook(lambda m, args, out: order.append("plain"))
    scaled.register_forward_hook(
        lambda m, args, kwargs, out: order.append(f"kw:{kwargs['temperature']}"),
        with_kwargs=True,
        prepend=True,
    )
    kw_out = scaled(x, temperature=0.5)
    return {
        "kw_order": ",".join(order),
        "kw_out": kw_out.detach().flatten().tolist(),
        "activation_shapes": ",".join(f"{k}:{tuple(v.shape)}" for k, v in activations.items())
        or "none",
        "pre_calls": [list(s) for s in pre_calls],
        "clamped_max": float(out.abs().max()),
        "loss": loss.item(),
        "backward_records_names": ",".join(r[0] for r in backward_records),
        "backward_records": [r[1:] for r in backward_records],
        "weight_grad": weight_grad,
        "hook_seen": seen,
        "hidden_grad": hidden_grad,
        "hooked_grad": hooked_grad,
        "plain_logits": plain.detach().flatten().tolist(),
        "plain_grad": model[0].weight.grad.flatten()[:6].tolist(),
        "leaf_grad_of_nonleaf_is_none": middle.grad is None,
    }
