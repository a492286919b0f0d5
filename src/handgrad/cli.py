"""The ``handgrad`` command: a thin dispatcher over ``handgrad.commands``.

Each command lives in its own module of ``handgrad.commands``, imported only when that command
runs (so ``handgrad summary`` does not pay for matplotlib, and a command whose optional module is
absent does not break the others). A command module exposes two functions:

    add_arguments(parser: argparse.ArgumentParser) -> None
    run(args: argparse.Namespace) -> int            # the exit code

Errors the user can fix (a bad name, a missing file, a batch size of 0) are raised as
``CommandError`` or reported by argparse; either way the command prints one line,
``handgrad <command>: error: <message>``, and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .commands import COMMANDS, HELP, CommandError  # noqa: F401  (CommandError: public here too)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the message and where to find help) instead of
    the usage block followed by the message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def _fail(prog: str, message: object) -> int:
    print(f"{prog}: error: {_one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _Parser(
        prog="handgrad", description="handgrad: deep learning on NumPy with hand-derived gradients."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        sub.add_parser(name, help=HELP.get(name, ""), add_help=False)

    # Two passes: the first finds the command without importing any command module; the second
    # parses that command's own arguments once its module is loaded.
    try:
        known, _ = parser.parse_known_args(
            argv[:1] if argv and not argv[0].startswith("-") else argv
        )
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return _exit_code(e)
    if known.command is None:
        parser.print_help()
        return EXIT_USAGE
    name = known.command
    prog = f"handgrad {name}"
    try:
        module = importlib.import_module(COMMANDS[name])
    except ModuleNotFoundError as e:
        if e.name and COMMANDS[name].startswith(e.name):
            return _fail(
                prog,
                f"this command is not available in this installation "
                f"(module {COMMANDS[name]} is missing)",
            )
        raise
    command_parser = _Parser(prog=prog, description=HELP.get(name))
    module.add_arguments(command_parser)
    try:
        args = command_parser.parse_args(argv[1:])
    except SystemExit as e:
        return _exit_code(e)
    args.command = name
    try:
        with _quiet_numerics():
            return int(module.run(args) or 0)
    except CommandError as e:
        return _fail(prog, e)
    except BrokenPipeError:  # e.g. `handgrad exercises list | head`: the reader left
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _quiet_numerics():
    """No raw NumPy RuntimeWarning on the terminal: a command reports a numerical failure itself
    (a diverging loss is a one-line error; a NaN never reaches a JSON report)."""
    import contextlib
    import warnings

    import numpy as np

    stack = contextlib.ExitStack()
    stack.enter_context(np.errstate(all="ignore"))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore", RuntimeWarning)
    return stack


def _exit_code(e: SystemExit) -> int:
    return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)


def _version() -> str:
    from . import __version__

    return f"handgrad {__version__}"


if __name__ == "__main__":
    sys.exit(main())
