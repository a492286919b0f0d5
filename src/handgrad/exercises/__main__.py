"""``python -m handgrad.exercises list|run|docs|template|grade``: the same as
``handgrad exercises``."""

from __future__ import annotations

import sys

from ..cli import main


def _main() -> int:
    return main(["exercises", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(_main())
