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
    "float16",
    "half",
    "float32",
    "float",
    "float64",
    "double",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "uint8",
    "bool_",
    "bool",
]

# PyTorch's legacy type names ('torch.FloatTensor'), for Tensor.type() and the legacy constructors.
_LEGACY_NAMES: dict[np.dtype, str] = {
    np.dtype("float32"): "FloatTensor",
    np.dtype("float64"): "DoubleTensor",
    np.dtype("float16"): "HalfTensor",
    np.dtype("int64"): "LongTensor",
    np.dtype("int32"): "IntTensor",
    np.dtype("int16"): "ShortTensor",
    np.dtype("int8"): "CharTensor",
    np.dtype("uint8"): "ByteTensor",
    np.dtype("bool"): "BoolTensor",
}


def legacy_type_name(dtype: np.dtype) -> str:
    """'torch.FloatTensor' for float32, ... (the name PyTorch's ``Tensor.type()`` returns)."""
    return "torch." + _LEGACY_NAMES[np.dtype(dtype)]


def dtype_of_legacy(value: object) -> np.dtype:
    """The dtype named by a dtype, a legacy class (``hg.LongTensor``) or its name."""
    legacy = getattr(value, "legacy_dtype", None)
    if legacy is not None:
        return legacy
    if isinstance(value, str) and value.rpartition(".")[2] in _LEGACY_NAMES.values():
        name = value.rpartition(".")[2]
        return next(d for d, n in _LEGACY_NAMES.items() if n == name)
    try:
        return np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"type: invalid type {value!r}") from None
