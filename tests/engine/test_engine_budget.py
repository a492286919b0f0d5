"""A line budget for the core engine (issue 15): the Tensor, autograd, and the element-wise,
reduction, shape, indexing, linear-algebra, softmax and loss primitives must stay small enough to
read in one sitting. Counted: code lines, without blank lines, comments and docstrings.

Before the restructuring (tensor.py, autograd.py, _tensor_extras.py and the same seven ops files)
the count was 2,065, with about 200 Tensor methods installed at import from a string and a dict of
lambdas. Writing each method as a ``def`` (two lines each, in tensor_methods/), splitting the
engine into modules and giving the ops the public Tensor as their type (for a type checker)
brought it to 2,872; the edge-case fixes merged from main (empty tensors, selecting backward
passes, sparse separable pooling) to 2,983. The budget is that plus about 4%: room for fixes,
not for a second engine. Raising it is a decision for review, not a way to make this test pass.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import handgrad as hg

SRC = Path(hg.__file__).resolve().parent
# 3,257 once `ruff format` laid long calls out one argument a line (3,070 before); 3,402 on
# 2026-12-06 with the bitwise masked selection and the one-product stacked matmul (speed) and
# torch's constant zero gradient of empty nodes and exact edge formulas (issue 11). Raised to 3,520
# on review (3,500 used): the fourth fuzz round wrote torch's formulas term for term where a
# composed one rounded or overflowed differently (var and 1 / sigma as primitives, softmax's
# backward nodes, tanh's rounding, atan2/hypot, nll's division, empty nodes' constant gradient).
# 3,525 after the sixth round (linear's bias over an empty inner dim as a plain if, not a
# conditional expression used as a statement to save three lines). 3,546 proposed after the
# seventh (the engine keeps a node's incoming gradients apart where their running sum overflows
# from finite terms, and sums them scaled: 21 lines, for review).
BUDGET = 3546

CORE = [
    "_tensor_base.py",
    "_tensor.py",
    "tensor_methods/*.py",
    "autograd/__init__.py",
    "autograd/grad_mode.py",
    "autograd/function.py",
    "autograd/engine.py",
    "ops/dims.py",
    "ops/elementwise.py",
    "ops/reduce.py",
    "ops/shape.py",
    "ops/index.py",
    "ops/linalg.py",
    "ops/softmax.py",
    "ops/loss.py",
]


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    code: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        code.update(range(tok.start[0], tok.end[0] + 1))
    return len(code - doc_lines)


def core_files() -> list[Path]:
    files: list[Path] = []
    for pattern in CORE:
        found = sorted(SRC.glob(pattern))
        assert found, f"the budget names {pattern}, which does not exist: update CORE"
        files += found
    return files


def test_code_lines_counts_only_code():
    src = (
        '"""doc\nstring"""\n\n# comment\nx = 1  # trailing\n\n\n'
        'def f():\n    """doc"""\n    return (1 +\n            2)\n'
    )
    assert code_lines(src) == 4  # x = 1, def f, and the two lines of the return


def test_core_engine_stays_within_its_line_budget():
    counts = {str(p.relative_to(SRC)): code_lines(p.read_text()) for p in core_files()}
    total = sum(counts.values())
    detail = "\n".join(
        f"  {n:5d}  {name}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    assert total <= BUDGET, f"core engine: {total} code lines, budget {BUDGET}:\n{detail}"
