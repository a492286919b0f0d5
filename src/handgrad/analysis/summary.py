"""``summary``: a per-layer table of a network: output shape, parameters, multiply-adds, receptive
field, jump (effective stride) and start, for any stack of convolutions, transposed convolutions,
pooling, resizing and element-wise layers (see ``receptive`` for the arithmetic).

Multiply-adds count the products with weights, for the whole batch of ``input_shape``:

    convolution             N * C_out * H_out * W_out * (C_in / groups) * kH * kW
    transposed convolution  N * C_in * H_in * W_in * (C_out / groups) * kH * kW
    linear                  (number of rows) * in_features * out_features

Pooling, resizing and element-wise layers count 0 (they have no weights).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .receptive import receptive_field
from .table import format_cell, format_table


@dataclass
class SummaryRow:
    """One layer of a ``Summary``; ``rf``, ``jump``, ``start`` as in ``receptive_field``."""

    index: int
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int
    rf: Any
    jump: Any
    start: Any


class Summary:
    """The table ``summary`` returns: ``rows`` (``SummaryRow``), ``total_params``,
    ``total_macs``; indexing and iteration go over the rows; ``str()`` is the table."""

    def __init__(self, rows: list[SummaryRow], input_shape: tuple) -> None:
        self.rows = rows
        self.input_shape = input_shape
        self.total_params = sum(r.params for r in rows)
        self.total_macs = sum(r.macs for r in rows)

    def __getitem__(self, i: int) -> SummaryRow:
        return self.rows[i]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __str__(self) -> str:
        head = ["#", "layer", "output shape", "params", "mult-adds", "rf", "jump", "start"]
        one, zero = format_cell(_unit(self.input_shape, 1)), format_cell(_unit(self.input_shape, 0))
        body = [["", "input", str(self.input_shape), "", "", one, one, zero]]
        for r in self.rows:
            body.append(
                [
                    str(r.index),
                    r.name,
                    str(r.output_shape),
                    f"{r.params:,}",
                    f"{r.macs:,}",
                    format_cell(r.rf),
                    format_cell(r.jump),
                    format_cell(r.start),
                ]
            )
        text = format_table(head, body)
        return f"{text}\ntotal: {self.total_params:,} parameters, {self.total_macs:,} multiply-adds"

    def __repr__(self) -> str:
        return str(self)


def _unit(shape: tuple, value: int) -> Any:
    nd = len(shape) - 2
    return (value,) * nd if nd > 1 else value


def _params(layer: Any) -> int:
    if not hasattr(layer, "parameters"):
        return 0
    return sum(int(p.numel()) for p in layer.parameters())


def _macs(kind: str, layer: Any, in_shape: tuple, out_shape: tuple) -> int:
    if kind == "conv" and hasattr(layer, "weight"):
        w = layer.weight.shape  # (C_out, C_in / groups, *kernel)
        return math.prod(out_shape) * math.prod(w[1:])
    if kind == "transposed" and hasattr(layer, "weight"):
        w = layer.weight.shape  # (C_in, C_out / groups, *kernel)
        return math.prod(in_shape) * math.prod(w[1:])
    if hasattr(layer, "in_features") and hasattr(layer, "out_features"):
        return math.prod(in_shape[:-1]) * layer.in_features * layer.out_features
    return 0


def summary(model: Any, input_shape: Sequence[int]) -> Summary:
    """Per-layer output shape, parameter count, multiply-adds, receptive field, jump and start of
    ``model`` (an nn.Sequential, a module or a list of layers) for an input of ``input_shape``
    (N, C, L) or (N, C, H, W). ``print(summary(...))`` shows the table; ``.rows`` holds the
    numbers."""
    records = receptive_field(model, input_shape)
    rows = []
    shape = tuple(input_shape)
    for r in records:
        rows.append(
            SummaryRow(
                index=r.index,
                name=r.name,
                kind=r.kind,
                output_shape=r.output_shape,
                params=_params(r.layer),
                macs=_macs(r.kind, r.layer, shape, r.output_shape),
                rf=r.rf,
                jump=r.jump,
                start=r.start,
            )
        )
        shape = r.output_shape
    return Summary(rows, tuple(input_shape))


__all__ = ["Summary", "SummaryRow", "summary"]
