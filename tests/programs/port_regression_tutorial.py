"""The "learning PyTorch with examples" polynomial fit, then a small classifier trained with
torch.optim and a DataLoader: the everyday idioms of a first PyTorch program."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = {
    "poly_loss": (1e-3, 1e-6),
    "coefficients": (1e-3, 1e-5),
    "clf_losses": (1e-3, 1e-6),
    "accuracy": (0, 1e-9),
}


def init_from_numpy(model, seed):
    """Both libraries start from the same weights (their random initialisers differ)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.normal(0, 0.3, tuple(p.shape)), dtype=torch.float32))


def polynomial():
    x = torch.linspace(-math.pi, math.pi, 200)
    y = torch.sin(x)
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    init_from_numpy(model, 0)
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for _ in range(300):
        loss = loss_fn(model(xx), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear = model[0]
    coefficients = [linear.bias.item()] + linear.weight[0].tolist()
    return loss.item(), coefficients


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def classifier():
    rng = np.random.default_rng(1)
    centers = rng.normal(0, 2, (3, 4))
    labels = rng.integers(0, 3, 300)
    points = centers[labels] + rng.normal(0, 0.7, (300, 4))
    data = TensorDataset(torch.tensor(points, dtype=torch.float32), torch.tensor(labels))
    loader = DataLoader(data, batch_size=32, shuffle=False)
    model = Net()
    init_from_numpy(model, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _epoch in range(5):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        losses.append(total / len(data))
    model.eval()
    with torch.no_grad():
        pred = model(data.tensors[0]).argmax(dim=1, keepdim=True)
        correct = pred.eq(data.tensors[1].view_as(pred)).sum().item()
    return losses, correct / len(data)


def main():
    torch.manual_seed(0)
    poly_loss, coefficients = polynomial()
    clf_losses, accuracy = classifier()
    return {
        "poly_loss": poly_loss,
        "coefficients": coefficients,
        "clf_losses": clf_losses,
        "accuracy": accuracy,
    }
