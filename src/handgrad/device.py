"""``handgrad.device``: where a tensor lives. handgrad runs on the CPU only; the class exists so
that PyTorch programs that name their device (``torch.device("cuda" if ... else "cpu")``,
``.to(device)``, ``device=`` on factories) run unchanged."""

from __future__ import annotations

from typing import Any

_ACCELERATORS = ("cuda", "mps", "xpu", "hip", "xla", "meta", "vulkan", "ipu", "hpu", "mtia")


class device:
    """A device: ``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)`` or another device.

    Equal to another device of the same type and index (``device("cpu") != device("cpu:0")``, as
    in PyTorch). Any accelerator type raises a ``RuntimeError`` saying handgrad runs on the CPU.
    """

    __slots__ = ("_index", "_type")
    _type: str
    _index: int | None

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(  # noqa: TRY004  (PyTorch raises RuntimeError here too)
                f"device({type}): a bare index names an accelerator; handgrad runs on the CPU only "
                "(use 'cpu')"
            )
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or a device, got {type!r}")
        name, _, idx = type.partition(":")
        if idx:
            if index is not None:
                raise RuntimeError(
                    f"device(): type {type!r} already has an index; got index={index}"
                )
            if not idx.isdigit():
                raise RuntimeError(f"device(): invalid device string {type!r}")
            index = int(idx)
        if name in _ACCELERATORS:
            raise RuntimeError(
                f"device({type!r}): handgrad runs on the CPU only, it has no {name!r} backend; "
                "use device('cpu') (code written as 'cuda' if torch.cuda.is_available() else 'cpu' "
                "picks the CPU by itself)"
            )
        if name != "cpu":
            raise RuntimeError(f"device(): expected one of cpu, cuda, mps, xpu, ... got {type!r}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device(): index must be a non-negative int, got {index!r}")
        self._type, self._index = name, index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other: object) -> bool:
        # A string is never equal to a device (``device("cpu") == "cpu"`` is False in PyTorch too).
        return isinstance(other, device) and (self._type, self._index) == (
            other._type,
            other._index,
        )

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __enter__(self) -> device:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def as_device(value: Any, op: str) -> device | None:
    """``value`` (None, a string, a device) as a device, with errors naming ``op``."""
    if value is None:
        return None
    try:
        return device(value)
    except (RuntimeError, TypeError) as e:
        raise RuntimeError(f"{op}: {e}") from None


__all__ = ["device"]
