"""Device handling as every PyTorch example writes it: pick "cuda" when available, else the
CPU, move the model and each batch with ``.to(device)``, create tensors with ``device=``, and
the cudnn flags set for reproducibility. handgrad answers: no CUDA, so the CPU."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    device = torch.device("cuda" if use_cuda else "mps" if use_mps else "cpu")
    kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}

    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((24, 4)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 3, 24))
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False, **kwargs)

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for epoch in range(3):
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    bias = torch.zeros(3, device=device) + torch.ones(3, device=device, dtype=torch.float32)
    on_device = all(p.device == device for p in model.parameters())
    return {
        "device": str(device),
        "cuda": float(use_cuda),
        "losses": losses,
        "same_device": float(
            on_device and bias.device == device and x.to(device).device.type == "cpu"
        ),
        "bias": bias.tolist(),
    }
