"""The classic image classifiers: softmax regression, a multilayer perceptron, and LeNet.

Every model takes images (N, C, H, W) (or already flat (N, D) vectors) and returns class scores
(logits) (N, classes); the loss (cross-entropy) applies the softmax. Layer names match the
equivalent PyTorch modules, so state dicts move between the two frameworks unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .._tensor import Tensor


def softmax_regression(in_features: int = 784, classes: int = 10) -> nn.Sequential:
    """Multinomial logistic regression: logits = W vec(x) + b, trained with cross-entropy. A
    ``Flatten`` first, so images go in as they are."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, classes))


def mlp(
    in_features: int = 784,
    hidden: Sequence[int] = (256, 256),
    classes: int = 10,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Flatten, then ``Linear -> ReLU [-> Dropout]`` for each hidden width, then a linear
    read-out."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def _conv_out(size: int, kernel: int, padding: int) -> int:
    return size + 2 * padding - kernel + 1


class LeNet(nn.Module):
    """A LeNet-5-style network, small enough to train on a CPU in seconds:

        conv 5x5, 8 channels -> ReLU -> max-pool 2 -> conv 5x5, 16 channels -> ReLU -> max-pool 2
        -> flatten -> linear to ``classes``

    For 1x28x28 digits: 28 -conv-> 24 -pool-> 12 -conv-> 8 -pool-> 4, so the linear layer sees
    16 * 4 * 4 = 256 features. ``padding=2`` keeps the size through each convolution (for 8x8
    digits: 8 -> 4 -> 2, 16 * 2 * 2 = 64 features). Each layer is a named sub-module, so forward
    hooks (``hg.analysis.summary``) see all eight.
    """

    def __init__(
        self,
        in_channels: int = 1,
        classes: int = 10,
        input_size: int = 28,
        padding: int = 0,
        channels: tuple[int, int] = (8, 16),
    ) -> None:
        super().__init__()
        c1, c2 = channels
        size = _conv_out(input_size, 5, padding) // 2
        size = _conv_out(size, 5, padding) // 2
        if size < 1:
            raise ValueError(
                f"LeNet: input_size {input_size} with padding {padding} shrinks to nothing "
                f"(two 5x5 convolutions and two 2x2 poolings); use padding=2 for small images"
            )
        self.conv1 = nn.Conv2d(in_channels, c1, 5, padding=padding)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=padding)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c2 * size * size, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(self.flatten(x))


MODELS = ("softmax", "mlp", "lenet")


def build_model(
    name: str, input_shape: Sequence[int] = (1, 28, 28), classes: int = 10
) -> nn.Module:
    """The command line's models by name: ``softmax``, ``mlp`` (784-256-256-10 for digits) or
    ``lenet``, sized for images of ``input_shape`` (C, H, W)."""
    if len(input_shape) != 3:
        raise ValueError(f"build_model: input_shape must be (C, H, W), got {tuple(input_shape)}")
    c, h, w = (int(s) for s in input_shape)
    if name == "softmax":
        return softmax_regression(c * h * w, classes)
    if name == "mlp":
        return mlp(c * h * w, (256, 256), classes)
    if name == "lenet":
        if h != w:
            raise ValueError(f"build_model: lenet expects square images, got {h}x{w}")
        return LeNet(c, classes, input_size=h, padding=0 if h >= 16 else 2)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
