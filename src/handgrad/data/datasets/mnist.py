"""MNIST and Fashion-MNIST from the standard IDX files in a folder the user names.

handgrad never downloads: the files must already be there, gzip-compressed or raw, directly in
``root`` or in torchvision's layout ``root/MNIST/raw`` (``root/FashionMNIST/raw``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ..dataset import Dataset
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx


def _array(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


class MNIST(Dataset):
    """The MNIST handwritten digits: ``train=True`` reads ``train-images-idx3-ubyte`` and
    ``train-labels-idx1-ubyte`` (60,000 digits), ``train=False`` the ``t10k-`` files (10,000).

    ``.data`` is a uint8 tensor N x 28 x 28, ``.targets`` an int64 tensor N. ``ds[i]`` is
    ``(image, label)``: the image goes through ``transform`` as a uint8 NumPy array H x W (where
    torchvision passes a PIL image; ``ToTensor`` accepts both roles) and, without a transform,
    is a float32 tensor 1 x 28 x 28 in [0, 1]; the label is a Python int, through
    ``target_transform`` if given. Files are checked (magic numbers, sizes, matching counts,
    labels 0-9) with errors that name the file."""

    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    files = {
        True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        download: bool = False,
    ) -> None:
        name = type(self).__name__
        if download:
            raise RuntimeError(
                f"{name}: handgrad never downloads; put the IDX files "
                f"({', '.join(self.files[train])}, gzip or raw) in a folder and "
                f"pass it as root"
            )
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            what = "is not a folder" if self.root.exists() else "does not exist"
            raise FileNotFoundError(f"{name}: data folder {self.root} {what}")
        self.train = train
        self.transform = transform
        self.target_transform = target_transform

        images_path, labels_path = (self._find(f) for f in self.files[train])
        images = read_idx(images_path, magic=IMAGES_MAGIC)
        labels = read_idx(labels_path, magic=LABELS_MAGIC)
        if len(images) != len(labels):
            raise ValueError(
                f"{name}: {images_path} holds {len(images)} images but "
                f"{labels_path} holds {len(labels)} labels"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(
                f"{name}: {labels_path} holds label {labels.max()}, outside "
                f"0..{len(self.classes) - 1}"
            )
        self.data = Tensor._wrap(images)
        self.targets = Tensor._wrap(labels.astype(np.int64))

    def _find(self, filename: str) -> Path:
        folders = [self.root, self.root / type(self).__name__ / "raw"]
        for folder in folders:
            for candidate in (folder / filename, folder / (filename + ".gz")):
                if candidate.is_file():
                    return candidate
        name = type(self).__name__
        raise FileNotFoundError(
            f"{name}: no {filename} or {filename}.gz in {folders[0]} (nor in {folders[1]}); "
            f"handgrad never downloads: put the {name} "
            f"{'training' if self.train else 'test'} files there (IDX format, gzip or raw)"
        )

    def __len__(self) -> int:
        return len(_array(self.targets))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = _array(self.data)[index]
        target: Any = int(_array(self.targets)[index])
        img = (
            self.transform(img)
            if self.transform is not None
            else Tensor._wrap(img[None].astype(np.float32) / np.float32(255))
        )
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _collated_batch(self, indices: np.ndarray) -> list[Tensor] | None:
        # The default conversion of a whole batch at once; the same numbers as ds[i] stacked.
        if self.transform is not None or self.target_transform is not None:
            return None
        images = _array(self.data)[indices][:, None].astype(np.float32) / np.float32(255)
        return [Tensor._wrap(images), Tensor._wrap(_array(self.targets)[indices])]

    def __repr__(self) -> str:
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
            f"    Split: {'Train' if self.train else 'Test'}",
        ]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same file names, format and sizes as MNIST, with ten kinds
    of clothing as classes."""

    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
