"""``ChannelShuffle`` (ShuffleNet, Zhang et al. 2018) as a module (see ``F.channel_shuffle``)."""

from __future__ import annotations

from .._tensor import Tensor
from .functional.vision import channel_shuffle
from .module import Module


class ChannelShuffle(Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)


__all__ = ["ChannelShuffle"]
