"""``Dropout``: inverted dropout (Srivastava et al. 2014) as a module that follows train/eval."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """In training, zero each element with probability p and scale the survivors by 1 / (1 - p),
    so the expected output equals the input and evaluation (identity) needs no rescaling.
    The gradient is the same mask times 1 / (1 - p).

    handgrad's random streams are not PyTorch's: masks differ from torch's for the same seed.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, generator: Any = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got p={p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Channel dropout for (N, C, L) or (C, L): zero whole channels with probability p."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(Dropout):
    """Channel dropout for (N, C, H, W): zero whole feature maps with probability p (Tompson et
    al. 2015), since neighbouring pixels are too correlated for element dropout. Other ranks
    follow torch 2.13 (``F.dropout2d``): 3-D is read as (N, C, L), 2-D warns and drops
    elements."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)


__all__ = ["Dropout", "Dropout1d", "Dropout2d"]
