"""Library, command line and course apart: the algorithm packages never import the command line
(``handgrad.cli``, ``handgrad.commands``) nor the training job behind it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import handgrad as hg
from handgrad import cli, commands

SRC = Path(hg.__file__).parent
ALGORITHMS = (
    "attacks",
    "cluster",
    "manifold",
    "calibration",
    "sparse",
    "models",
    "analysis",
    "nn",
    "optim",
    "data",
)
UPWARD = ("handgrad.cli", "handgrad.commands", "handgrad.train.job", "handgrad.exercises")


def imported_modules(path: Path, text: str | None = None) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved); ``text``
    stands in for the file's content."""
    package = ".".join(("handgrad",) + path.relative_to(SRC).parent.parts)
    out = []
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base)
                module = f"{prefix}.{node.module}" if node.module else prefix
            else:
                module = node.module or ""
            out.append(module)
            out += [f"{module}.{a.name}" for a in node.names]  # `from . import cli` names a module
    return out


FILES = [p for name in ALGORITHMS for p in sorted((SRC / name).rglob("*.py"))]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_algorithms_do_not_import_the_command_line(path):
    bad = [m for m in imported_modules(path) if m.startswith(UPWARD)]
    assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_no_cli_module_left_in_the_algorithm_packages():
    stray = [str(p.relative_to(SRC)) for p in FILES if "cli" in p.stem]
    assert not stray


def test_every_command_module_exists_and_has_its_two_functions():
    import importlib

    assert cli.COMMANDS is commands.COMMANDS
    for name, module in commands.COMMANDS.items():
        assert module.startswith("handgrad.commands.")
        m = importlib.import_module(module)
        assert callable(m.add_arguments) and callable(m.run), name


def test_resolver_sees_an_upward_import():
    # The check above can fail: relative imports of the command line are resolved and caught.
    names = imported_modules(
        SRC / "cluster" / "kmeans.py", "from ..commands import common\nfrom .. import cli\n"
    )
    assert "handgrad.commands" in names and "handgrad.cli" in names


COURSE = re.compile(
    r"problem set|[Aa]ssignment \d|\bQ\d|[Qq]uestion \d|[Pp]roblem \d|[Tt]he seed'?s?\b"
    r"|\d{3}_[0-9a-f]{16}\.txt"
)


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in sorted(SRC.rglob("*.py"))
        if p.relative_to(SRC).parts[0] not in ("exercises", "commands")
    ],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_library_docstrings_hold_no_course_material(path):
    # Which problem set asks what, and the errata of its solutions, belong with the exercises;
    # a library module keeps at most a pointer such as "Used in exercise 002-a10."
    hits = [
        f"{i}: {line.strip()}"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if COURSE.search(line)
    ]
    assert not hits, hits
