"""The pruning tutorial (``torch.nn.utils.prune``) on LeNet: ``l1_unstructured`` and
``ln_structured`` on the same conv weight (iterative pruning, the masks combined), ``named_buffers``
and ``_forward_pre_hooks`` showing ``weight_mask`` and the hook, ``global_unstructured`` over
several layers with ``L1Unstructured``, sparsity reported per layer, fine-tuning with the masks
held (the gradient of ``weight_orig`` is 0 where pruned), ``prune.remove`` to make it permanent,
``is_pruned``, and the state_dict keys at each stage. Weights come from a NumPy generator."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, int(x.nelement() / x.shape[0]))
        return self.fc2(F.relu(self.fc1(x)))


def sparsity(t):
    return float(torch.sum(t == 0)) / float(t.nelement())


def main():
    torch.set_num_threads(1)
    model = LeNet()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
    module = model.conv1
    prune.l1_unstructured(module, name="weight", amount=0.3)
    after_l1 = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
    hooks = len(module._forward_pre_hooks)
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    prune.l1_unstructured(module, name="bias", amount=3)
    conv1_sparsity = sparsity(module.weight)
    channels_kept = int((module.weight_mask.sum((1, 2, 3)) > 0).sum())

    parameters_to_prune = (
        (model.conv2, "weight"),
        (model.fc1, "weight"),
        (model.fc2, "weight"),
    )
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)
    layer_sparsity = [sparsity(m.weight) for m, _ in parameters_to_prune]
    total_zeros = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)
    total = sum(float(m.weight.nelement()) for m, _ in parameters_to_prune)
    keys_pruned = list(model.state_dict().keys())

    x = torch.tensor(rng.standard_normal((8, 1, 28, 28)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, 8))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    masked_grad = float((model.fc1.weight_orig.grad * (1 - model.fc1.weight_mask)).abs().max())
    still_sparse = sparsity(model.fc1.weight)

    for m, name in parameters_to_prune + ((model.conv1, "weight"), (model.conv1, "bias")):
        prune.remove(m, name)
    keys_removed = list(model.state_dict().keys())
    with torch.no_grad():
        logits = model(x)
    return {
        "after_l1": ",".join(after_l1),
        "hooks": hooks,
        "conv1_sparsity": conv1_sparsity,
        "channels_kept": channels_kept,
        "conv1_mask": module.weight.detach().flatten()[:12].tolist(),
        "layer_sparsity": layer_sparsity,
        "global_sparsity": total_zeros / total,
        "keys_pruned": ",".join(keys_pruned),
        "losses": losses,
        "masked_grad": masked_grad,
        "still_sparse": still_sparse,
        "keys_removed": ",".join(keys_removed),
        "is_pruned": prune.is_pruned(model),
        "weight_is_parameter": isinstance(model.fc1.weight, nn.Parameter),
        "logits": logits[0].tolist(),
        "params": ",".join(n for n, _ in model.named_parameters()),
    }
