"""torchvision-style MNIST loading: datasets.MNIST(root, train=False, download=True,
transform=Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])) over the real test split laid
out as torchvision stores it (root/MNIST/raw), through a DataLoader, then a few steps of a small
CNN whose weights start from a NumPy generator.

torchvision does not install beside torch 2.13 on this machine, so when the import fails the
torch run computes the same tensors from the IDX files by hand (the reference); the handgrad run
always goes through handgrad.vision."""

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

try:
    from torchvision import datasets, transforms
except ImportError:
    datasets = transforms = None

TOLERANCE = {"first_image": (1e-5, 1e-5), "batch_means": (1e-5, 1e-5), "losses": (1e-4, 1e-4)}


def read_idx(path):
    """The reference reader (used only when torchvision is missing)."""
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_test_set(root, mnist):
    if datasets is not None:
        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        return datasets.MNIST(root, train=False, download=True, transform=tf)
    images = torch.tensor(read_idx(mnist / "t10k-images-idx3-ubyte.gz").copy())
    labels = torch.tensor(read_idx(mnist / "t10k-labels-idx1-ubyte.gz").astype(np.int64))
    x = (images.float().div(255).unsqueeze(1) - 0.1307) / 0.3081
    return TensorDataset(x, labels)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


def main():
    mnist = Path(os.environ.get("PORT_DATA", "")) / "mnist"
    if not (mnist / "t10k-images-idx3-ubyte.gz").is_file():
        return {"skipped": f"no MNIST test split in {mnist}"}
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as root:
        raw = Path(root) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            (raw / name).symlink_to(mnist / name)
        test_set = load_test_set(root, mnist)
        loader = DataLoader(test_set, batch_size=256, shuffle=False)
        first_image, first_label = test_set[0]
        model = Net()
        rng = np.random.default_rng(0)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.tensor(rng.normal(0, 0.1, tuple(p.shape)), dtype=torch.float32))
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        batch_means, losses, labels_seen = [], [], 0
        for i, (x, y) in enumerate(loader):
            batch_means.append(x.mean().item())
            labels_seen += int(y.sum())
            if i < 8:
                optimizer.zero_grad()
                loss = F.nll_loss(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
    return {
        "size": float(len(test_set)),
        "first_image": first_image.reshape(-1)[200:240].tolist(),
        "first_label": float(first_label),
        "batch_means": batch_means,
        "label_sum": float(labels_seen),
        "losses": losses,
    }
