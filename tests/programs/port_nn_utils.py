"""``torch.nn.utils`` in a training loop: ``clip_grad_norm_`` (its returned total norm logged, the
inf norm, ``error_if_nonfinite=True`` raising on a NaN gradient), torch 2.6's
``get_total_norm`` + ``clip_grads_with_norm_``, ``clip_grad_value_``,
``parameters_to_vector`` / ``vector_to_parameters`` to snapshot and restore weights (as
evolution strategies and line searches do), ``parametrizations.weight_norm`` and
``spectral_norm`` on layers being trained, and ``nn.utils.parametrize.remove_parametrizations``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

TOLERANCE = {"sigma_estimates": (1e-3, 1e-4)}


def init_from_numpy(module, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.7, 0.7, tuple(p.shape)).astype(np.float32)))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((20, 6)).astype(np.float32))
    y = torch.tensor(rng.standard_normal((20, 2)).astype(np.float32))

    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    init_from_numpy(model, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    norms, inf_norms, losses = [], [], []
    for step in range(8):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x) * 5, y)
        loss.backward()
        if step % 3 == 1:
            norms.append(float(clip_grad_norm_(model.parameters(), max_norm=1.0)))
        elif step % 3 == 2:
            # torch 2.6's split form: measure, log, then clip with the measured norm
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            total = get_total_norm(grads, norm_type=2.0)
            clip_grads_with_norm_(model.parameters(), 0.8, total)
            norms.append(float(total))
        else:
            inf_norms.append(float(clip_grad_norm_(model.parameters(), 0.5, norm_type="inf")))
            clip_grad_value_(model.parameters(), clip_value=0.05)
        optimizer.step()
        losses.append(loss.item())

    # a NaN gradient: error_if_nonfinite raises; without it the norm comes back nan
    model[0].weight.grad[0, 0] = float("nan")
    try:
        clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
        raised = "none"
    except RuntimeError:
        raised = "RuntimeError"
    nan_norm = clip_grad_norm_(model.parameters(), 1.0)
    optimizer.zero_grad()

    # flatten to a vector, perturb, restore
    vec = parameters_to_vector(model.parameters())
    saved = vec.clone()
    vector_to_parameters(vec + 0.01, model.parameters())
    perturbed_loss = F.mse_loss(model(x) * 5, y).item()
    vector_to_parameters(saved, model.parameters())
    restored_loss = F.mse_loss(model(x) * 5, y).item()

    # weight norm and spectral norm as parametrizations
    wn = weight_norm(nn.Linear(6, 4), name="weight", dim=0)
    init_from_numpy(wn, 2)
    # spectral_norm starts u and v from the generator and refines them by power iteration:
    # set the weights first, so that the estimate has converged before training starts
    sn = nn.Linear(4, 2)
    init_from_numpy(sn, 3)
    sn = spectral_norm(sn)
    param_names = sorted(n for n, _ in wn.named_parameters()) + sorted(
        n for n, _ in sn.named_parameters()
    )
    opt = torch.optim.Adam(list(wn.parameters()) + list(sn.parameters()), lr=0.05)
    wn_losses = []
    sigma_estimates = []
    for step in range(6):
        opt.zero_grad()
        loss = F.mse_loss(sn(torch.tanh(wn(x))), y)
        loss.backward()
        opt.step()
        wn_losses.append(loss.item())
    sn.eval()
    with torch.no_grad():
        w = sn.weight
        sigma_estimates.append(float(np.linalg.norm(w.numpy(), 2)))
    wn_weight = wn.weight.detach().clone()
    torch.nn.utils.parametrize.remove_parametrizations(wn, "weight")
    removed_names = sorted(n for n, _ in wn.named_parameters())
    return {
        "norms": norms,
        "inf_norms": inf_norms,
        "losses": losses,
        "raised": raised,
        "nan_norm_is_nan": bool(torch.isnan(nan_norm)),
        "vector_size": vec.numel(),
        "perturbed_loss": perturbed_loss,
        "restored_loss": restored_loss,
        "param_names": ",".join(param_names),
        "wn_losses": wn_losses,
        "sigma_estimates": sigma_estimates,
        "wn_weight": wn_weight.flatten()[:8].tolist(),
        "removed_names": ",".join(removed_names),
        "same_after_remove": float((wn.weight - wn_weight).abs().max()),
    }
