"""The transform classes of ``handgrad.vision.transforms`` (see the package docstring)."""

from __future__ import annotations

import enum
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...data.transforms import Compose, Lambda, Normalize
from ...data.transforms import ToTensor as _ArrayToTensor
from ...random import _generator


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError(
            "handgrad.vision: PIL images need the optional package Pillow "
            "(pip install pillow, or handgrad[extras])"
        ) from e
    return Image


def _is_pil(img: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(img, Image.Image)


class InterpolationMode(enum.Enum):
    """torchvision's interpolation names (the values are PIL's filter names)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _pil_filter(mode: Any) -> int:
    Image = _pil()
    if isinstance(mode, int):  # a PIL constant, as older torchvision code passes
        return mode
    mode = InterpolationMode(mode.value if isinstance(mode, InterpolationMode) else mode)
    return {
        "nearest": Image.NEAREST,
        "nearest-exact": Image.NEAREST,
        "bilinear": Image.BILINEAR,
        "bicubic": Image.BICUBIC,
        "box": Image.BOX,
        "hamming": Image.HAMMING,
        "lanczos": Image.LANCZOS,
    }[mode.value]


class ToTensor(_ArrayToTensor):
    """A PIL image or a NumPy array H x W (x C) to a tensor C x H x W; uint8 pixels (PIL modes
    L, RGB, RGBA, P, ..., and uint8 arrays) become float32 in [0, 1], as torchvision's."""

    def __call__(self, pic: Any) -> Tensor:
        if _is_pil(pic):
            if pic.mode == "1":  # bilevel: torchvision scales True to 255 first
                pic = np.asarray(pic, dtype=np.uint8) * np.uint8(255)
            else:
                pic = np.asarray(pic)
        return super().__call__(pic)


class PILToTensor:
    """A PIL image to a uint8 tensor C x H x W, unscaled (torchvision's ``PILToTensor``)."""

    def __call__(self, pic: Any) -> Tensor:
        a = np.asarray(pic)
        return Tensor._wrap(
            np.ascontiguousarray((a[..., None] if a.ndim == 2 else a).transpose(2, 0, 1))
        )

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage:
    """A tensor C x H x W or an array H x W x C to a PIL image; float values in [0, 1] are
    multiplied by 255 and truncated to uint8, as torchvision's ``ToPILImage``."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        Image = _pil()
        if isinstance(pic, Tensor):
            a = pic.detach()._data
            a = a[None] if a.ndim == 2 else a
            a = a.transpose(1, 2, 0)
        else:
            a = np.asarray(pic)
            a = a[..., None] if a.ndim == 2 else a
        if a.dtype.kind == "f":
            a = (a * 255).astype(np.uint8)
        if a.shape[2] == 1:
            return Image.fromarray(a[..., 0], mode=self.mode)
        return Image.fromarray(a, mode=self.mode)

    def __repr__(self) -> str:
        return f"ToPILImage(mode={self.mode})"


def _hw(img: Any) -> tuple[int, int]:
    if _is_pil(img):
        return img.size[1], img.size[0]
    return int(img.shape[-2]), int(img.shape[-1])


def _pair(size: Any, what: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    size = tuple(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{what}: size should be an int or a sequence of 1 or 2 ints, got {size}")
    return int(size[0]), int(size[1])


def _as_array(img: Any) -> tuple[np.ndarray, Any]:
    """The pixels as an array with height and width as the last two axes, and a function that
    turns such an array back into the input's kind (PIL image, tensor or array)."""
    if _is_pil(img):
        mode = img.mode
        a = np.asarray(img)
        chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        return chw, lambda out: _pil().fromarray(
            np.ascontiguousarray(out[0] if a.ndim == 2 else out.transpose(1, 2, 0)), mode=mode
        )
    if isinstance(img, Tensor):
        return img.detach()._data, lambda out: Tensor._wrap(np.ascontiguousarray(out))
    return np.asarray(img), lambda out: np.ascontiguousarray(out)


def _resized_size(h: int, w: int, size: Any, max_size: int | None) -> tuple[int, int]:
    """torchvision's rule: an int (or a 1-sequence) sets the shorter side and keeps the aspect
    ratio (the longer side truncated), optionally capped by ``max_size``; a pair is (h, w)."""
    if isinstance(size, numbers.Number) or len(size) == 1:
        requested = int(size if isinstance(size, numbers.Number) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(
                    f"Resize: max_size = {max_size} must be strictly greater than "
                    f"the requested size for the smaller edge size = {size}"
                )
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError(
            "Resize: max_size should only be passed if size specifies the length "
            "of the smaller edge, i.e. size should be an int or a sequence of "
            "length 1"
        )
    return int(size[0]), int(size[1])


class Resize:
    """Resize to ``size`` (see ``_resized_size``) with ``interpolation`` (bilinear by
    default). PIL images go through PIL; tensors and arrays are resized channel by channel as
    float32 PIL images, which is the antialiased filter torchvision applies to tensors
    (``antialias=True``, its default: torchvision's tensor kernel is a port of PIL's), so the two
    paths agree to float rounding. Integer tensors are rounded back to their dtype."""

    def __init__(
        self,
        size: Any,
        interpolation: Any = InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ) -> None:
        if not isinstance(size, (numbers.Number, Sequence)) or (
            isinstance(size, Sequence) and len(size) not in (1, 2)
        ):
            raise TypeError(
                f"Resize: size should be an int or a sequence of 1 or 2 ints, got {size!r}"
            )
        if antialias is False:
            raise NotImplementedError(
                "Resize: antialias=False is not provided (PIL always antialiases when downscaling)"
            )
        self.size, self.interpolation, self.max_size = size, interpolation, max_size
        self.antialias = antialias

    def __call__(self, img: Any) -> Any:
        h, w = _hw(img)
        nh, nw = _resized_size(h, w, self.size, self.max_size)
        resample = _pil_filter(self.interpolation)
        if _is_pil(img):
            return img if (nh, nw) == (h, w) else img.resize((nw, nh), resample)
        a, back = _as_array(img)
        Image = _pil()
        flat = a.reshape(-1, h, w).astype(np.float32)
        out = (
            np.stack(
                [np.asarray(Image.fromarray(c, mode="F").resize((nw, nh), resample)) for c in flat]
            )
            if flat.shape[0]
            else np.zeros((0, nh, nw), np.float32)
        )
        out = out.reshape(a.shape[:-2] + (nh, nw))
        if a.dtype.kind in "iu":
            info = np.iinfo(a.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        return back(
            out.astype(a.dtype if a.dtype.kind in "iu" else np.result_type(a.dtype, np.float32))
        )

    def __repr__(self) -> str:
        mode = getattr(self.interpolation, "value", self.interpolation)
        return (
            f"Resize(size={self.size}, interpolation={mode}, max_size={self.max_size}, "
            f"antialias={self.antialias})"
        )


def _pad_array(
    a: np.ndarray, left: int, top: int, right: int, bottom: int, fill: Any, padding_mode: str
) -> np.ndarray:
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        if isinstance(fill, (tuple, list)) and a.ndim >= 3:  # one fill per channel
            out = np.pad(a, widths)
            mask = np.ones(out.shape[-2:], bool)
            mask[top : top + a.shape[-2], left : left + a.shape[-1]] = False
            for c, value in enumerate(fill):
                out[..., c, :, :][..., mask] = value
            return out
        return np.pad(a, widths, constant_values=fill)
    return np.pad(a, widths, mode=padding_mode)


def _crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """torchvision's ``F.crop``: the window may reach outside the image, where it is zero."""
    a, back = _as_array(img)
    h, w = a.shape[-2:]
    pads = (max(0, -left), max(0, -top), max(0, left + width - w), max(0, top + height - h))
    if any(pads):
        a = _pad_array(a, *pads, fill=0, padding_mode="constant")
        top, left = top + pads[1], left + pads[0]
    return back(a[..., top : top + height, left : left + width])


class CenterCrop:
    """The central ``size`` window; an image smaller than ``size`` is padded with zeros first
    (torchvision's rounding: top = round((h - th) / 2), left = round((w - tw) / 2))."""

    def __init__(self, size: Any) -> None:
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img: Any) -> Any:
        h, w = _hw(img)
        th, tw = self.size
        if tw > w or th > h:
            pad = (
                (tw - w) // 2 if tw > w else 0,
                (th - h) // 2 if th > h else 0,
                (tw - w + 1) // 2 if tw > w else 0,
                (th - h + 1) // 2 if th > h else 0,
            )
            a, back = _as_array(img)
            img = back(_pad_array(a, *pad, fill=0, padding_mode="constant"))
            h, w = _hw(img)
            if (h, w) == (th, tw):
                return img
        return _crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


def _padding4(padding: Any) -> tuple[int, int, int, int]:
    """left, top, right, bottom from an int, (lr, tb) or (l, t, r, b), as torchvision."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = tuple(int(p) for p in padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding  # type: ignore[return-value]
    raise ValueError(
        f"Pad: padding must be an int or a 1, 2, or 4 element sequence, got {len(padding)} elements"
    )


_PAD_MODES = {
    "constant": "constant",
    "edge": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
}


class Pad:
    """Pad the borders (``padding``: int, (left/right, top/bottom) or (left, top, right,
    bottom)) with ``fill`` or by ``padding_mode`` edge / reflect / symmetric."""

    def __init__(self, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> None:
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"Pad: padding_mode should be constant, edge, reflect or "
                f"symmetric, got {padding_mode!r}"
            )
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img: Any) -> Any:
        a, back = _as_array(img)
        return back(
            _pad_array(
                a,
                *_padding4(self.padding),
                fill=self.fill,
                padding_mode=_PAD_MODES[self.padding_mode],
            )
        )

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class RandomCrop:
    """A random ``size`` window, after optional ``padding`` (see ``Pad``); ``pad_if_needed``
    pads an image smaller than ``size`` up to it. The window's top-left corner is uniform over
    the valid positions: ``i`` in ``0 .. h - th``, ``j`` in ``0 .. w - tw``."""

    def __init__(
        self,
        size: Any,
        padding: Any = None,
        pad_if_needed: bool = False,
        fill: Any = 0,
        padding_mode: str = "constant",
    ) -> None:
        self.size = _pair(size, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"RandomCrop: padding_mode should be constant, edge, reflect or "
                f"symmetric, got {padding_mode!r}"
            )

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        h, w = _hw(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: required crop size {(th, tw)} is larger than input "
                f"image size {(h, w)}"
            )
        if (h, w) == (th, tw):
            return 0, 0, h, w
        rng = _generator()
        return int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1)), th, tw

    def __call__(self, img: Any) -> Any:
        pad = Pad(0, self.fill, self.padding_mode)
        if self.padding is not None:
            pad.padding = self.padding
            img = pad(img)
        h, w = _hw(img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            pad.padding = (tw - w, 0)
            img = pad(img)
        if self.pad_if_needed and h < th:
            pad.padding = (0, th - h)
            img = pad(img)
        return _crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if _generator().random() < self.p:
            a, back = _as_array(img)
            return back(a[..., ::-1])
        return img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip:
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if _generator().random() < self.p:
            a, back = _as_array(img)
            return back(a[..., ::-1, :])
        return img

    def __repr__(self) -> str:
        return f"RandomVerticalFlip(p={self.p})"


class RandomResizedCrop:
    """A random window of random area (a fraction ``scale`` of the image) and aspect ratio (in
    ``ratio``, drawn log-uniformly), resized to ``size``: torchvision's ``RandomResizedCrop``,
    with its ten attempts and its fallback to the central window of clamped aspect ratio."""

    def __init__(
        self,
        size: Any,
        scale: tuple = (0.08, 1.0),
        ratio: tuple = (3 / 4, 4 / 3),
        interpolation: Any = InterpolationMode.BILINEAR,
        antialias: bool | None = True,
    ) -> None:
        self.size = _pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(
                f"RandomResizedCrop: scale and ratio should be of kind (min, max), "
                f"got scale={scale}, ratio={ratio}"
            )
        self.scale, self.ratio, self.interpolation = tuple(scale), tuple(ratio), interpolation
        self.antialias = antialias

    @staticmethod
    def get_params(
        img: Any, scale: Sequence[float], ratio: Sequence[float]
    ) -> tuple[int, int, int, int]:
        h, w = _hw(img)
        area = h * w
        rng = _generator()
        log_ratio = np.log(np.asarray(ratio, dtype=np.float64))
        for _ in range(10):
            target_area = area * rng.uniform(scale[0], scale[1])
            aspect = float(np.exp(rng.uniform(log_ratio[0], log_ratio[1])))
            cw = int(round(np.sqrt(target_area * aspect)))
            ch = int(round(np.sqrt(target_area / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return (int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw)
        in_ratio = w / h
        if in_ratio < min(ratio):
            cw, ch = w, int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            ch, cw = h, int(round(h * max(ratio)))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, img: Any) -> Any:
        window = _crop(img, *self.get_params(img, self.scale, self.ratio))
        return Resize(self.size, self.interpolation, antialias=self.antialias)(window)

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class Grayscale:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (PIL's ``convert('L')`` for images), repeated to
    ``num_output_channels`` (1 or 3)."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(
                f"Grayscale: num_output_channels should be either 1 or 3, got {num_output_channels}"
            )
        self.num_output_channels = num_output_channels

    def __call__(self, img: Any) -> Any:
        if _is_pil(img):
            gray = img.convert("L")
            return gray if self.num_output_channels == 1 else _pil().merge("RGB", [gray] * 3)
        a, back = _as_array(img)
        if a.shape[-3] == 1:
            luma = a
        else:
            r, g, b = (a[..., c, :, :] for c in range(3))
            luma = (0.2989 * r + 0.587 * g + 0.114 * b).astype(a.dtype)[..., None, :, :]
        return back(np.repeat(luma, self.num_output_channels, axis=-3))

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"


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
]
