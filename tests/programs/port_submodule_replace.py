"""Re-assigning submodules of a small ResNet-like network (``model.fc = nn.Linear(...)``,
``model.conv1 = ...``) and cutting the head off with ``nn.Sequential(*list(model.children())
[:-1])``: the registration order, hence children(), parameters() and state_dict keys, stays."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = BasicBlock(8)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        return self.fc(self.flatten(self.avgpool(x)))


def init_from_numpy(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = TinyResNet()
    # transfer-learning style edits: a new first layer and a new head, re-assigned in place
    model.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
    model.fc = nn.Linear(8, 4)
    model.layer1.bn2 = nn.BatchNorm2d(8)
    model.register_buffer("scale", torch.ones(1))
    init_from_numpy(model, 1)
    model.eval()

    names = [name for name, _ in model.named_children()]
    keys = list(model.state_dict().keys())
    shapes = [float(p.numel()) for p in model.parameters()]

    features = nn.Sequential(*list(model.children())[:-1])  # everything but the head
    x = torch.tensor(np.random.default_rng(2).standard_normal((2, 1, 6, 6)).astype(np.float32))
    with torch.no_grad():
        f = features(x)
        logits = model(x)
    return {
        "children": ",".join(names),
        "state_dict_keys": ",".join(keys),
        "param_sizes": shapes,
        "features": f.flatten().tolist(),
        "feature_shape": [float(s) for s in f.shape],
        "logits": logits.flatten().tolist(),
    }
