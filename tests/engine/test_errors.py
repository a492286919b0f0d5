"""Bad input gets a clear error that names the operation and the shapes or values at fault."""

from __future__ import annotations

import pytest

import handgrad as hg
import handgrad.nn.functional as F


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: hg.ones(2, 3) @ hg.ones(4, 5),
            RuntimeError,
            r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)",
        ),
        (lambda: hg.ones(2, 3, 4) @ hg.ones(5, 4, 2), RuntimeError, r"matmul: batch dimensions"),
        (lambda: hg.ones(3) @ hg.ones(4), RuntimeError, r"matmul: shapes \(3,\) and \(4,\)"),
        (
            lambda: hg.ones(2, 3) + hg.ones(4),
            ValueError,
            r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast",
        ),
        (lambda: hg.ones(2, 3) * hg.ones(2, 2), ValueError, r"mul: shapes \(2, 3\) and \(2, 2\)"),
        (lambda: hg.where(hg.ones(3) > 0, hg.ones(2), 0.0), ValueError, r"where: shapes"),
        (
            lambda: hg.ones(3, 4)[5],
            IndexError,
            r"getitem: index 5 is out of bounds for axis 0 with size 3 \(tensor shape \(3, 4\)\)",
        ),
        (
            lambda: hg.ones(3).gather(0, hg.tensor([3])),
            IndexError,
            r"gather: index 3 is out of bounds for dim 0 with size 3",
        ),
        (lambda: hg.ones(2, 3).sum(dim=2), IndexError, r"sum: dim 2 is out of range.*2 dim"),
        (
            lambda: hg.ones(2, 3).reshape(4, 2),
            RuntimeError,
            r"reshape: shape \(4, 2\) is invalid for input of shape \(2, 3\)",
        ),
        (lambda: hg.ones(2, 3).expand(4, 3, 2), RuntimeError, r"expand: .*\(2, 3\).*\(4, 3, 2\)"),
        (
            lambda: hg.cat([hg.ones(2, 3), hg.ones(2, 4)], 0),
            RuntimeError,
            r"cat: sizes .* tensor 0 has shape \(2, 3\) but tensor 1 has shape \(2, 4\)",
        ),
        (lambda: hg.ones(2, 3).permute(0, 0), RuntimeError, r"permute: dims \(0, 0\)"),
        (
            lambda: F.linear(hg.ones(2, 3), hg.ones(4, 5)),
            RuntimeError,
            r"linear: input of shape \(2, 3\) does not match weight of shape \(4, 5\)",
        ),
        (
            lambda: F.cross_entropy(hg.ones(2, 3), hg.tensor([0, 3])),
            IndexError,
            r"nll_loss: target 3 is out of bounds for 3 classes",
        ),
        (
            lambda: F.cross_entropy(hg.ones(2, 3), hg.tensor([0, 1, 2])),
            ValueError,
            r"nll_loss: expected target of shape \(2,\).*got \(3,\)",
        ),
        (
            lambda: F.mse_loss(hg.ones(2), hg.ones(2), reduction="avg"),
            ValueError,
            r"mse_loss: reduction must be one of",
        ),
        (lambda: hg.ones(2, 2).item(), RuntimeError, r"item: a tensor with 4 elements"),
        (lambda: F.softmax(hg.ones(2, 3), dim=3), IndexError, r"softmax: dim 3 is out of range"),
        (lambda: F.dropout(hg.ones(2), p=1.5), ValueError, r"dropout: probability.*1.5"),
        (lambda: hg.ones(2, 3).prod(dim=(0, 1)), TypeError, r"prod: dim must be an int or None"),
        (lambda: hg.ones(2, 3).prod(2), IndexError, r"prod: dim 2 is out of range"),
    ],
)
def test_clear_error(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
