"""torchvision's resnet18: a state dict in its layout (built here from a NumPy generator, so
both runs load the same weights) loaded with load_state_dict, the classifier head replaced for
fine-tuning (model.fc = nn.Linear(512, 10)), then eval-mode outputs, the feature extractor
nn.Sequential(*list(model.children())[:-1]) and one training-mode step.

torchvision does not install beside torch 2.13 on this machine; when its import fails, the torch
run builds the same architecture in plain torch.nn with torchvision's module names (the
reference). The handgrad run always uses handgrad.vision.models.resnet18."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from torchvision.models import resnet18
except ImportError:
    resnet18 = None

TOLERANCE = {
    "logits": (1e-3, 1e-4),
    "features": (1e-3, 1e-4),
    "train_loss": (1e-4, 1e-5),
    "fc_grad_norm": (1e-3, 1e-5),
}


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ReferenceResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = 64
        self.layer1 = self._layer(64, 1)
        self.layer2 = self._layer(128, 2)
        self.layer3 = self._layer(256, 2)
        self.layer4 = self._layer(512, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _layer(self, planes, stride):
        down = None
        if stride != 1 or self.inplanes != planes:
            down = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )
        blocks = [BasicBlock(self.inplanes, planes, stride, down), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def make_state_dict(template):
    rng = np.random.default_rng(0)
    sd = {}
    for key, value in template.items():
        shape = tuple(value.shape)
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            sd[key] = torch.tensor(rng.uniform(0.5, 1.5, shape), dtype=torch.float32)
        elif key.endswith(("running_mean", ".bias")):
            sd[key] = torch.tensor(rng.normal(0, 0.1, shape), dtype=torch.float32)
        elif key.endswith("weight") and len(shape) == 1:  # batch-norm scales
            sd[key] = torch.tensor(rng.uniform(0.5, 1.5, shape), dtype=torch.float32)
        else:
            fan_in = int(np.prod(shape[1:]))
            sd[key] = torch.tensor(rng.normal(0, np.sqrt(2.0 / fan_in), shape), dtype=torch.float32)
    return sd


def main():
    torch.manual_seed(0)
    model = resnet18() if resnet18 is not None else ReferenceResNet18()
    model.load_state_dict(make_state_dict(model.state_dict()))
    model.fc = nn.Linear(512, 10)
    rng = np.random.default_rng(1)
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor(rng.normal(0, 0.05, (10, 512)), dtype=torch.float32))
        model.fc.bias.zero_()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device)
    x = torch.tensor(rng.standard_normal((2, 3, 64, 64)), dtype=torch.float32, device=device)

    model.eval()
    with torch.no_grad():
        logits = model(x)
        features = nn.Sequential(*list(model.children())[:-1])(x).flatten(1)

    model.train()
    y = torch.tensor([3, 7])
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return {
        "logits": logits.flatten().tolist(),
        "features": features[:, :32].flatten().tolist(),
        "num_parameters": float(sum(p.numel() for p in model.parameters())),
        "train_loss": loss.item(),
        "fc_grad_norm": model.fc.weight.grad.norm().item(),
        "running_mean_after_step": model.bn1.running_mean[:8].tolist(),
    }
