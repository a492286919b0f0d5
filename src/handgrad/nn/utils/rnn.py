"""Packed sequences (``torch.nn.utils.rnn``): a batch of sequences of different lengths stored
without padding, the form ``nn.RNN``/``nn.LSTM``/``nn.GRU`` accept so that each sequence stops at
its own end.

A ``PackedSequence`` sorts the sequences by length, longest first, and lays their steps out time
step by time step: ``data`` holds step 0 of every sequence, then step 1 of every sequence still
running, and so on; ``batch_sizes[t]`` says how many sequences have a step t. ``sorted_indices``
is the permutation that sorted the batch (None if it came sorted) and ``unsorted_indices`` its
inverse, which puts results back in the caller's order.

Packing and unpacking are one gather each (``index_select`` on the flattened time-major padded
tensor, or on the packed rows plus one padding row), so gradients flow between the packed data and
the padded input exactly as in torch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from ... import ops
from ..._tensor import Tensor, lift


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _index(values: Any) -> Tensor:
    """A CPU int64 tensor (torch's dtype for batch sizes, lengths and permutations)."""
    return Tensor._wrap(np.asarray(values, dtype=np.int64).copy())


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of 0..n-1 (None stays None): out[permutation[i]] = i."""
    if permutation is None:
        return None
    p = lift(permutation)._data.astype(np.int64)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return _index(out)


class PackedSequence(_PackedSequenceFields):
    """A batch of variable-length sequences without padding: (data, batch_sizes, sorted_indices,
    unsorted_indices), as torch's. Build one with ``pack_padded_sequence`` or ``pack_sequence``
    rather than by hand; ``unsorted_indices`` defaults to the inverse of ``sorted_indices``."""

    def __new__(
        cls,
        data: Any,
        batch_sizes: Any = None,
        sorted_indices: Any = None,
        unsorted_indices: Any = None,
    ) -> PackedSequence:
        if batch_sizes is None:  # torch's legacy form: PackedSequence((data, batch_sizes))
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError(
                    "PackedSequence: expected (data, batch_sizes, ...) or a pair "
                    f"(data, batch_sizes), got {type(data).__name__}"
                )
            data, batch_sizes = data
        if sorted_indices is not None:
            sorted_indices = _index(lift(sorted_indices)._data)
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        else:
            unsorted_indices = _index(lift(unsorted_indices)._data)
        return super().__new__(
            cls, lift(data), _index(lift(batch_sizes)._data), sorted_indices, unsorted_indices
        )

    def _with_data(self, data: Tensor) -> PackedSequence:
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the index tensors stay CPU int64 (handgrad has only the CPU)."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cpu(self) -> PackedSequence:
        return self

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def pad_sequence(
    sequences: Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack tensors of shapes (L_i, *) into (L_max, B, *) (or (B, L_max, *)), each padded with
    ``padding_value`` after its end (or before it, ``padding_side='left'``); differentiable in
    the sequences."""
    seqs = [s if isinstance(s, Tensor) else Tensor._wrap(np.asarray(s)) for s in sequences]
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}"
        )
    trailing = {tuple(s.shape[1:]) for s in seqs}
    if len(trailing) != 1 or any(s.ndim == 0 for s in seqs):
        raise RuntimeError(
            f"pad_sequence: sequences must share their trailing dims, got shapes "
            f"{[tuple(s.shape) for s in seqs]}"
        )
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(ops.pad(s, widths, value=padding_value) if extra else s)
    return ops.stack(padded, 0 if batch_first else 1)


def _lengths_array(fn: str, lengths: Any) -> np.ndarray:
    arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(
            f"{fn}: lengths must be a 1-D sequence of ints, got {arr.dtype} of shape {arr.shape}"
        )
    return arr.astype(np.int64)


def _batch_sizes(lengths: np.ndarray) -> np.ndarray:
    """For lengths sorted longest first: how many sequences have a step t, for each t."""
    steps = np.arange(int(lengths[0]))
    return (lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)


def _pack_rows(batch_sizes: np.ndarray, n: int) -> np.ndarray:
    """The rows of a time-major (T * n, ...) flattening that a packed batch holds, in packed
    order: row t * n + b for every b < batch_sizes[t]."""
    return np.concatenate([t * n + np.arange(b) for t, b in enumerate(batch_sizes)])


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) whose sequence b has
    ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must be non-increasing (the
    batch is used as given, ``sorted_indices`` is None); otherwise the batch is sorted longest
    first (a stable sort, as torch's) and the permutation kept. Differentiable in ``input``."""
    fn = "pack_padded_sequence"
    x = lift(input)
    lens = _lengths_array(fn, lengths)
    if x.ndim < 2:
        raise ValueError(f"{fn}: expected input of at least 2 dims (T, B, *), got {x.shape}")
    if batch_first:
        x = x.transpose(0, 1)
    steps, n = x.shape[0], x.shape[1]
    if lens.size != n:
        raise RuntimeError(
            f"{fn}: expected len(lengths) to equal the batch size, got {lens.size} lengths "
            f"for batch_size={n}"
        )
    if n == 0 or (lens <= 0).any():
        raise RuntimeError(
            f"{fn}: every length must be greater than 0, got lengths {lens.tolist()}"
        )
    if (lens > steps).any():
        raise RuntimeError(
            f"{fn}: a length exceeds the padded length {steps} of the input, got lengths "
            f"{lens.tolist()}"
        )
    sorted_indices: Tensor | None = None
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise RuntimeError(
                f"{fn}: lengths must be sorted in decreasing order when enforce_sorted is True, "
                f"got {lens.tolist()}; pass enforce_sorted=False to pack_padded_sequence "
                "and/or pack_sequence to sort them"
            )
        order = np.arange(n)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = _index(order)
        lens = lens[order]
    batch_sizes = _batch_sizes(lens)
    # Row t * n + b of the time-major flattening is step t of (unsorted) sequence order[b].
    rows = _pack_rows(batch_sizes, n)
    src = (rows // n) * n + order[rows % n]
    flat = x.reshape((steps * n, *x.shape[2:]))
    data = ops.index_select(flat, 0, _index(src))
    return PackedSequence(data, _index(batch_sizes), sorted_indices, None)


def _unpack_rows(batch_sizes: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """For a packed batch in sorted order: (for each (t, b) of a (total, B) time-major grid, the
    packed row there or -1, the lengths)."""
    n = int(batch_sizes[0]) if batch_sizes.size else 0
    lengths = (batch_sizes[None, :] > np.arange(n)[:, None]).sum(1).astype(np.int64)
    grid = np.full((total, n), -1, np.int64)
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    for t, (s, b) in enumerate(zip(starts, batch_sizes)):
        grid[t, :b] = s + np.arange(b)
    return grid, lengths


def _padded_sorted(
    sequence: PackedSequence, padding_value: float = 0.0, total_length: int | None = None
) -> tuple[Tensor, np.ndarray]:
    """The packed batch as a time-major padded tensor (T, B, *), in the packed (sorted) order,
    and its lengths; a gather over the packed rows plus one row of ``padding_value``."""
    data = lift(sequence.data)
    batch_sizes = lift(sequence.batch_sizes)._data.astype(np.int64)
    steps = batch_sizes.size
    total = steps if total_length is None else int(total_length)
    grid, lengths = _unpack_rows(batch_sizes, total)
    pad_row = Tensor._wrap(np.full((1, *data.shape[1:]), padding_value, dtype=data.dtype))
    rows = ops.cat([data, pad_row], 0)
    grid = np.where(grid < 0, data.shape[0], grid)
    padded = ops.index_select(rows, 0, _index(grid.reshape(-1)))
    return padded.reshape((total, grid.shape[1], *data.shape[1:])), lengths


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: (padded (T, B, *) or (B, T, *), lengths as a CPU
    int64 tensor), in the batch's original order. ``total_length`` pads to that many steps (at
    least the longest sequence). Differentiable in the packed data."""
    fn = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: expected a PackedSequence, got {type(sequence).__name__}")
    steps = lift(sequence.batch_sizes).shape[0]
    if total_length is not None and total_length < steps:
        raise ValueError(
            f"{fn}: expected total_length to be at least the length of the longest sequence "
            f"in input, but got total_length={total_length} and max sequence length being {steps}"
        )
    padded, lengths = _padded_sorted(sequence, padding_value, total_length)
    if sequence.unsorted_indices is not None:
        padded = ops.index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices._data]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index(lengths)


def pack_sequence(sequences: Iterable[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (longest first unless ``enforce_sorted=False``): a
    ``pad_sequence`` then a ``pack_padded_sequence``."""
    seqs = [lift(s) for s in sequences]
    lengths = [s.shape[0] if s.ndim else 0 for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list:
    """The inverse of ``pad_sequence``: the list of each sequence's first ``lengths[b]`` steps."""
    x = lift(padded_sequences)
    if not batch_first:
        x = x.transpose(0, 1)
    lens = _lengths_array("unpad_sequence", lengths)
    if lens.size != x.shape[0]:
        raise ValueError(
            f"unpad_sequence: got {lens.size} lengths for a batch of {x.shape[0]} sequences"
        )
    return [x[b, : int(length)] for b, length in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The inverse of ``pack_sequence``: the list of sequences, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pack_sequence",
    "pad_sequence",
    "unpad_sequence",
    "unpack_sequence",
]
