"""Convolutions as functions: ``F.conv1d/2d/3d``, ``F.conv_transpose1d/2d/3d`` and the patch
extraction ``F.unfold``/``F.fold`` they are built on. The convolutions are fused primitives in
``handgrad.ops.conv`` (their derivations live there); this module gathers them where a torch
user looks."""

from __future__ import annotations

from ...composed.resample import fold, unfold
from ...composed.volume import conv3d, conv_transpose3d
from ...ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "unfold",
    "fold",
]
