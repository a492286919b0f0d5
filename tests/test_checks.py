"""The checks that keep the code's shape run inside the test suite: ruff's lint rules and its
formatter over ``src``, ``tests`` and ``bench``, and mypy over the checked core (the modules listed
under ``[tool.mypy] files`` in pyproject.toml). Each runs as a subprocess from the repository root
with the configuration in pyproject.toml, and a failure shows the tool's own report."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ["src", "tests", "bench"]


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    # A missing checker fails rather than skips: a check that cannot run checks nothing. Both are
    # in the `test` extra of pyproject.toml.
    assert importlib.util.find_spec(tool) is not None, (
        f"{tool} is not installed: pip install -e '.[test]'"
    )
    return subprocess.run(
        [sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def report(proc: subprocess.CompletedProcess) -> str:
    return f"exit status {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_ruff_lint_is_clean():
    proc = run("ruff", "check", "--no-cache", *TREES)
    assert proc.returncode == 0, report(proc)


def test_ruff_format_is_applied():
    proc = run("ruff", "format", "--check", "--no-cache", *TREES)
    assert proc.returncode == 0, report(proc)


# About a second with mypy's cache (.mypy_cache), 38 s without it on the loaded 2-core machine:
# slow by the first run (`make test` runs it, `make test-fast` skips it).
@pytest.mark.slow
def test_mypy_is_clean():
    proc = run("mypy")
    assert proc.returncode == 0, report(proc)
