"""The plain-text tables that ``ReceptiveField`` and ``Summary`` print: one formatter for a cell
value and one for the table, shared so both tables read alike."""

from __future__ import annotations

from typing import Any


def format_table(head: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell (counts right-aligned), a rule under the head."""
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    right = {i for i, h in enumerate(head) if h in ("#", "params", "mult-adds")}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    rule = "-" * len(line(head))
    return "\n".join([line(head), rule] + [line(r) for r in rows])


def format_cell(v: Any) -> str:
    """A receptive-field value as printed: None as '-', tuples per axis, floats compactly."""
    if v is None or (isinstance(v, tuple) and all(x is None for x in v)):
        return "-"
    if isinstance(v, tuple):
        return "(" + ", ".join(format_cell(x) for x in v) + ")"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
