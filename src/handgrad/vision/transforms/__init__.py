"""``torchvision.transforms`` for handgrad: the common image transforms with torchvision's
semantics, on PIL images (H x W, channels per mode) and on tensors / NumPy arrays
(..., C, H, W, the torchvision tensor convention).

``Compose``, ``Lambda``, ``Normalize`` are ``handgrad.data.transforms``'; ``ToTensor`` is theirs
taught PIL images (torchvision's scaling: uint8 to float32 in [0, 1], H x W x C to C x H x W).
Random transforms draw from handgrad's global generator (seeded per DataLoader worker), so
they are reproducible under ``hg.manual_seed`` but are not torch's draws.

``functional`` (``torchvision.transforms.functional``): the same kernels as functions
(``resize``, ``crop``, ``hflip``, ``to_tensor``, ...).
"""

from . import functional
from ._transforms import (  # noqa: F401
    CenterCrop,
    Compose,
    Grayscale,
    InterpolationMode,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
    "functional",
]
