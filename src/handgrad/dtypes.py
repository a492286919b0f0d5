"""Data types: NumPy dtypes under PyTorch's names (``hg.float32``, ``hg.long``, ...)."""

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")  # noqa: A001  (PyTorch's alias)
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")  # noqa: A001
int64 = long = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = bool = np.dtype("bool")  # noqa: A001

__all__ = [
    "float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short",
    "int32", "int", "int64", "long", "uint8", "bool_", "bool",
]
