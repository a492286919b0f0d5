"""``handgrad summary``: the per-layer table of ``hg.analysis.summary`` for a model by name."""

from __future__ import annotations

import argparse
from collections import OrderedDict

from ..models.classic import MODELS
from .common import CommandError


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected C,H,W as positive integers, got {text!r}"
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W as three positive integers, got {text!r}")
    if max(shape) > _MAX_SIDE or shape[0] * shape[1] * shape[2] > _MAX_VALUES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too large: at most {_MAX_SIDE} per dimension and {_MAX_VALUES} "
            "values per image (the layers' weights would not fit in memory)"
        )
    return shape


# The models' linear layers are sized by the input: a 100000 x 100000 image makes LeNet's last one
# 372 GiB, and 2^18 values (3 x 256 x 256, 1 x 512 x 512) already make the MLP's first 268 MB.
_MAX_SIDE = 2**12
_MAX_VALUES = 2**18


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="lenet", help="default: lenet")
    parser.add_argument(
        "--input",
        type=_shape,
        default=(1, 28, 28),
        metavar="C,H,W",
        help="the shape of one input image (default: 1,28,28)",
    )
    parser.add_argument("--classes", type=int, default=10, help="default: 10")


def run(args: argparse.Namespace) -> int:
    from .. import nn
    from ..analysis import summary
    from ..models.classic import build_model

    try:
        model = build_model(args.model, args.input, args.classes)
    except MemoryError:
        raise CommandError(
            f"{args.model} for inputs of shape {','.join(map(str, args.input))} "
            "does not fit in memory"
        ) from None
    except ValueError as e:
        raise CommandError(
            f"{args.model} cannot take inputs of shape {','.join(map(str, args.input))}: {e}"
        ) from None
    if not isinstance(model, nn.Sequential):
        # summary expands Sequentials only; LeNet applies its children in order (tested in
        # tests/algorithms/test_models.py), so the same layers under their names are the same
        # function.
        model = nn.Sequential(OrderedDict(model.named_children()))
    print(summary(model, (1, *args.input)))
    return 0
