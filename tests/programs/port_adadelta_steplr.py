"""The optimizer set-up of pytorch/examples ``mnist/main.py``, on a small CNN and synthetic
images: ``optim.Adadelta(model.parameters(), lr=1.0)`` stepped per batch and
``StepLR(optimizer, step_size=1, gamma=0.7)`` per epoch, ``F.nll_loss`` on ``log_softmax``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    rng = np.random.default_rng(0)
    images = torch.tensor(rng.standard_normal((48, 1, 12, 12)).astype(np.float32))
    labels = torch.tensor(rng.integers(0, 3, 48))
    loader = DataLoader(TensorDataset(images, labels), batch_size=16)
    model = Net()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    model.eval()  # dropout off: its masks come from each library's own generator
    losses, lrs = [], []
    for epoch in range(1, 4):
        for data, target in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
    with torch.no_grad():
        correct = (model(images).argmax(dim=1) == labels).sum().item()
    return {"losses": losses, "lrs": lrs, "correct": correct}
