"""``handgrad.vision``: what ``torchvision`` gives a PyTorch program, so that
``from torchvision import datasets, transforms`` ports as
``from handgrad.vision import datasets, transforms``.

- ``datasets``: MNIST, FashionMNIST, CIFAR10 from torchvision's on-disk layout (never
  downloaded), FakeData, ImageFolder;
- ``transforms``: Compose, ToTensor, Normalize, Lambda, Resize, CenterCrop, RandomCrop, Pad,
  RandomHorizontalFlip, ... on PIL images and tensors;
- ``utils``: make_grid, save_image;
- ``models``: resnet18 ... resnet152 with torchvision's module names.

PIL images need Pillow (it comes with matplotlib in ``handgrad[extras]``).
"""

from . import datasets, models, transforms, utils  # noqa: F401

__all__ = ["datasets", "models", "transforms", "utils"]
