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
        raise argparse.ArgumentTypeError(f"expected C,H,W as positive integers, got {text!r}") \
            from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W as three positive integers, got "
                                         f"{text!r}")
    return shape


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="lenet", help="default: lenet")
    parser.add_argument("--input", type=_shape, default=(1, 28, 28), metavar="C,H,W",
                        help="the shape of one input image (default: 1,28,28)")
    parser.add_argument("--classes", type=int, default=10, help="default: 10")


def run(args: argparse.Namespace) -> int:
    from .. import nn
    from ..analysis import summary
    from ..models.classic import build_model

    try:
        model = build_model(args.model, args.input, args.classes)
    except ValueError as e:
        raise CommandError(f"{args.model} cannot take inputs of shape "
                           f"{','.join(map(str, args.input))}: {e}") from None
    if not isinstance(model, nn.Sequential):
        # summary expands Sequentials only; LeNet applies its children in order (tested in
        # tests/test_models.py), so the same layers under their names are the same function.
        model = nn.Sequential(OrderedDict(model.named_children()))
    print(summary(model, (1, *args.input)))
    return 0
