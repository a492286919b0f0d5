"""``torchvision.transforms.functional`` (imported as ``TF``): the deterministic kernels behind
the transform classes, on PIL images and tensors; reached as
``handgrad.vision.transforms.functional``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _transforms as T


def to_tensor(pic: Any) -> Any:
    return T.ToTensor()(pic)


def pil_to_tensor(pic: Any) -> Any:
    return T.PILToTensor()(pic)


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    return T.ToPILImage(mode)(pic)


def normalize(
    tensor: Any, mean: Sequence[float], std: Sequence[float], inplace: bool = False
) -> Any:
    return T.Normalize(mean, std)(tensor)


def resize(
    img: Any,
    size: Any,
    interpolation: Any = T.InterpolationMode.BILINEAR,
    max_size: int | None = None,
    antialias: bool | None = True,
) -> Any:
    return T.Resize(size, interpolation, max_size, antialias)(img)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    return T._crop(img, top, left, height, width)


def center_crop(img: Any, output_size: Any) -> Any:
    return T.CenterCrop(output_size)(img)


def resized_crop(
    img: Any,
    top: int,
    left: int,
    height: int,
    width: int,
    size: Any,
    interpolation: Any = T.InterpolationMode.BILINEAR,
    antialias: bool | None = True,
) -> Any:
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def pad(img: Any, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Any:
    return T.Pad(padding, fill, padding_mode)(img)


def hflip(img: Any) -> Any:
    return T.RandomHorizontalFlip(1.0)(img)


def vflip(img: Any) -> Any:
    return T.RandomVerticalFlip(1.0)(img)


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    return T.Grayscale(num_output_channels)(img)


def get_image_size(img: Any) -> list[int]:
    """[width, height], as torchvision."""
    h, w = T._hw(img)
    return [w, h]


def get_dimensions(img: Any) -> list[int]:
    """[channels, height, width]."""
    h, w = T._hw(img)
    if T._is_pil(img):
        return [len(img.getbands()), h, w]
    return [int(img.shape[-3]) if img.ndim >= 3 else 1, h, w]


__all__ = [
    "center_crop",
    "crop",
    "get_dimensions",
    "get_image_size",
    "hflip",
    "normalize",
    "pad",
    "pil_to_tensor",
    "resize",
    "resized_crop",
    "rgb_to_grayscale",
    "to_pil_image",
    "to_tensor",
    "vflip",
]
