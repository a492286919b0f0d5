"""Checkpoints through file objects: ``torch.save`` into an ``io.BytesIO`` and into an open
file, ``torch.load`` back (``map_location``, ``weights_only``), resuming model and optimizer."""

import io
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


def make_model():
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
    rng = np.random.default_rng(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))
    return model


def train(model, optimizer, x, y, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((32, 5)).astype(np.float32))
    y = torch.tensor(rng.standard_normal((32, 1)).astype(np.float32))
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    losses = train(model, optimizer, x, y, 10)

    buffer = io.BytesIO()
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 10}, buffer
    )
    size_ok = float(buffer.tell() > 0)
    buffer.seek(0)
    checkpoint = torch.load(buffer, map_location="cpu", weights_only=True)

    resumed = make_model()
    resumed.load_state_dict(checkpoint["model"])
    optimizer2 = optim.Adam(resumed.parameters(), lr=0.01)
    optimizer2.load_state_dict(checkpoint["optimizer"])
    resumed_losses = train(resumed, optimizer2, x, y, 5)
    straight_losses = train(model, optimizer, x, y, 5)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pt")
        with open(path, "wb") as f:
            torch.save(resumed.state_dict(), f)
        with open(path, "rb") as f:
            state = torch.load(f)
    third = make_model()
    third.load_state_dict(state)
    with torch.no_grad():
        out = third(x[:4]).flatten().tolist()
    return {
        "losses": losses,
        "resumed": resumed_losses,
        "straight": straight_losses,
        "epoch": checkpoint["epoch"],
        "size_ok": size_ok,
        "outputs": out,
        "keys": ",".join(state.keys()),
    }
