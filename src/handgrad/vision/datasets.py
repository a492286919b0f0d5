"""``torchvision.datasets`` for handgrad: MNIST, FashionMNIST and CIFAR10 read from
torchvision's on-disk layout, ``FakeData`` and ``ImageFolder``. Nothing is ever downloaded.

Layouts (the ones torchvision writes): ``root/MNIST/raw/train-images-idx3-ubyte`` (or ``.gz``;
the IDX reader and the checks are ``handgrad.data.datasets``'), ``root/FashionMNIST/raw/...``,
``root/cifar-10-batches-py/data_batch_1 .. 5, test_batch, batches.meta``. With
``download=True`` the files are used when present; when absent the error says which files to
put where (handgrad has no network access at run time).

As in torchvision, ``ds[i]`` passes a PIL image to ``transform`` (mode ``L`` for MNIST, ``RGB``
for CIFAR10) and returns it as is without a transform.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..data import datasets as _data
from ..data.dataset import Dataset
from .transforms._transforms import _pil


def _image_item(dataset: Any, img: np.ndarray, target: Any, mode: str | None) -> tuple:
    img = _pil().fromarray(img, mode=mode)
    if dataset.transform is not None:
        img = dataset.transform(img)
    if dataset.target_transform is not None:
        target = dataset.target_transform(target)
    return img, target


class MNIST(_data.MNIST):
    """torchvision's ``MNIST(root, train=True, transform=None, target_transform=None,
    download=False)``: the IDX files in ``root/MNIST/raw`` (or in ``root`` itself); ``.data``
    uint8 N x 28 x 28, ``.targets`` int64 N; ``ds[i]`` is (PIL image mode L, int)."""

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        try:
            super().__init__(
                root, train=train, transform=transform, target_transform=target_transform
            )
        except FileNotFoundError as e:
            if not download:
                raise
            name = type(self).__name__
            raise FileNotFoundError(
                f"{name}: download=True, but handgrad never downloads. Put "
                f"{' and '.join(f + '(.gz)' for f in self.files[train])} (the IDX files of "
                f"the {name} {'training' if train else 'test'} set) in "
                f"{Path(root).expanduser() / name / 'raw'}, torchvision's layout"
            ) from e

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return _image_item(self, self.data._data[index], int(self.targets._data[index]), "L")

    def _collated_batch(self, indices: np.ndarray) -> None:
        return None  # samples are PIL images: each goes through the transform


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST in ``root/FashionMNIST/raw``: MNIST's format and sizes."""

    classes = _data.FashionMNIST.classes


class _ArraysOnly(pickle.Unpickler):
    """Unpickles the builtin containers and NumPy arrays and nothing else.

    CIFAR-10's python version is a set of pickles; a pickle can name any callable, and loading
    one from a folder the user points at must not run code. These are the only globals a CIFAR
    batch (dicts of bytes, lists, ints and uint8 arrays) needs."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
        ("copyreg", "_reconstructor"),
        ("builtins", "object"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"CIFAR10: refusing to load the global {module}.{name} from a data file (only "
                f"containers and NumPy arrays are allowed)"
            )
        return super().find_class(module, name)


def _load_batch(path: Path) -> dict:
    with open(path, "rb") as f:
        try:
            return _ArraysOnly(f, encoding="latin1").load()
        except pickle.UnpicklingError:
            raise
        except Exception as e:
            raise ValueError(f"CIFAR10: {path} is not a CIFAR-10 python batch ({e})") from e


class CIFAR10(Dataset):
    """torchvision's ``CIFAR10(root, train=True, transform=None, target_transform=None,
    download=False)``: the python pickles in ``root/cifar-10-batches-py`` (loaded with a
    restricted unpickler, see ``_ArraysOnly``); ``.data`` uint8 N x 32 x 32 x 3 (HWC, as
    torchvision), ``.targets`` a list of ints, ``.classes`` from ``batches.meta``; ``ds[i]`` is
    (PIL image mode RGB, int)."""

    base_folder = "cifar-10-batches-py"
    train_list = [f"data_batch_{i}" for i in range(1, 6)]
    test_list = ["test_batch"]
    meta_file, label_key = "batches.meta", "label_names"

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        self.root = Path(root).expanduser()
        self.train, self.transform, self.target_transform = train, transform, target_transform
        folder = self.root / self.base_folder
        names = self.train_list if train else self.test_list
        missing = [n for n in names + [self.meta_file] if not (folder / n).is_file()]
        if missing:
            why = "download=True, but handgrad never downloads. " if download else ""
            raise FileNotFoundError(
                f"{type(self).__name__}: {why}missing {', '.join(missing)} in {folder}; put the "
                f"python version of the dataset there (the folder {self.base_folder} extracted "
                f"from the archive torchvision downloads)"
            )
        data: list = []
        targets: list[int] = []
        for n in names:
            entry = _load_batch(folder / n)
            data.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            targets.extend(int(t) for t in entry["labels" if "labels" in entry else "fine_labels"])
        self.data = (
            np.concatenate(data).transpose(0, 2, 3, 1)
            if data
            else np.zeros((0, 32, 32, 3), np.uint8)
        )
        self.targets = targets
        self.classes = list(_load_batch(folder / self.meta_file)[self.label_key])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return _image_item(self, self.data[index], self.targets[index], "RGB")

    def __repr__(self) -> str:
        return (
            f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
            f"    Root location: {self.root}\n    Split: {'Train' if self.train else 'Test'}"
        )


class CIFAR100(CIFAR10):
    """torchvision's ``CIFAR100``: ``root/cifar-100-python/{train,test,meta}``, the 100 fine
    labels."""

    base_folder = "cifar-100-python"
    train_list = ["train"]
    test_list = ["test"]
    meta_file, label_key = "meta", "fine_label_names"


class FakeData(Dataset):
    """Random images (PIL, from a standard normal tensor C x H x W clipped to [0, 1] and scaled
    to uint8) and random labels; sample ``i`` is drawn from a generator seeded with
    ``i + random_offset``, so it is the same every time (handgrad's numbers, not torch's)."""

    def __init__(
        self,
        size: int = 1000,
        image_size: tuple = (3, 224, 224),
        num_classes: int = 10,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        random_offset: int = 0,
    ) -> None:
        self.size, self.image_size, self.num_classes = size, tuple(image_size), num_classes
        self.transform, self.target_transform = transform, target_transform
        self.random_offset = random_offset

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -self.size <= index < self.size:
            raise IndexError(f"FakeData: index {index} is out of range for {self.size} samples")
        rng = np.random.default_rng(index % self.size + self.random_offset)
        img = rng.standard_normal(self.image_size).astype(np.float32)
        target = int(rng.integers(0, self.num_classes))
        chw = (np.clip(img, 0, 1) * 255).astype(np.uint8)
        hwc = chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0)
        return _image_item(self, hwc, target, None)


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path: str) -> Any:
    with open(path, "rb") as f:
        return _pil().open(f).convert("RGB")


default_loader = pil_loader


class DatasetFolder(Dataset):
    """Samples in ``root/<class>/**/<file>``: classes are the sub-folders in sorted order,
    files are taken in sorted order within each class (torchvision's ``DatasetFolder``)."""

    def __init__(
        self,
        root: str | Path,
        loader: Callable[[str], Any],
        extensions: tuple | None = None,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> None:
        self.root = os.fspath(Path(root).expanduser())
        self.loader, self.extensions = loader, extensions
        self.transform, self.target_transform = transform, target_transform
        classes, class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(
            self.root, class_to_idx, extensions, is_valid_file, allow_empty
        )
        self.classes, self.class_to_idx = classes, class_to_idx
        self.targets = [t for _, t in self.samples]

    @staticmethod
    def find_classes(directory: str) -> tuple[list, dict]:
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"DatasetFolder: {directory} is not a folder")
        classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
        if not classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
        return classes, {c: i for i, c in enumerate(classes)}

    @staticmethod
    def make_dataset(
        directory: str,
        class_to_idx: dict,
        extensions: tuple | None = None,
        is_valid_file: Callable | None = None,
        allow_empty: bool = False,
    ) -> list:
        if (extensions is None) == (is_valid_file is None):
            raise ValueError(
                "Both extensions and is_valid_file cannot be None or not None at the same time"
            )
        if is_valid_file is None:

            def is_valid_file(path: str) -> bool:
                return path.lower().endswith(tuple(extensions))

        samples, empty = [], []
        for target_class in sorted(class_to_idx):
            target_dir = os.path.join(directory, target_class)
            found = False
            for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
                for fname in sorted(fnames):
                    path = os.path.join(root, fname)
                    if is_valid_file(path):
                        samples.append((path, class_to_idx[target_class]))
                        found = True
            if not found:
                empty.append(target_class)
        if empty and not allow_empty:
            msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
            if extensions is not None:
                msg += f"Supported extensions are: {', '.join(extensions)}"
            raise FileNotFoundError(msg)
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target


class ImageFolder(DatasetFolder):
    """torchvision's ``ImageFolder``: images (``IMG_EXTENSIONS``) in ``root/<class>/``, loaded
    with PIL and converted to RGB; ``.imgs`` is ``.samples``."""

    def __init__(
        self,
        root: str | Path,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        loader: Callable[[str], Any] = default_loader,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> None:
        super().__init__(
            root,
            loader,
            IMG_EXTENSIONS if is_valid_file is None else None,
            transform,
            target_transform,
            is_valid_file,
            allow_empty,
        )
        self.imgs = self.samples


__all__ = [
    "CIFAR10",
    "CIFAR100",
    "DatasetFolder",
    "FakeData",
    "FashionMNIST",
    "IMG_EXTENSIONS",
    "ImageFolder",
    "MNIST",
    "default_loader",
    "pil_loader",
]
