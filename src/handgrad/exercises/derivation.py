"""Line-by-line checks of a derivation.

A derivation is a list of lines (``formula.parse_line``), each an expression or an equation in
the exercise's variables, optionally led by its relation to the line before (``=`` by default,
``<=``, ``>=``). ``check_derivation`` evaluates consecutive lines at several points (the
document's instance first, then random re-instances) and reports, with the numbers, the first
line that does not follow from the one before:

- expression after expression: the two values must be equal at every point (``=``), or ordered
  as the relation says (``<=``: the new line is at least the old one);
- an equation after an equation (an expression next to an equation is read as ``expr = 0``): the
  new equation must hold wherever the old one holds. With ``unknowns`` (the variables the
  equations are solved for), the old equation is solved for them at each point (Newton's method
  from the sampled values, finite-difference Jacobian, least-squares steps) and the new one is
  evaluated there; without, the residual of the new line must be a multiple of the old one's by
  one factor per point (so multiplying through by a non-zero number passes).

After a line that does not follow, the next line is also compared with the last line that held,
so a slip that is not carried on (the solution corrects it on the next line) is named as such.
Indices in the report are the lines' 1-based positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import fmt, render
from .formula import FormulaError, Line, parse_line


@dataclass
class LineCheck:
    """One line: its 1-based ``index``, ``text``, whether it follows from the line before
    (``None`` for the first line or when it could not be decided), and the evidence."""

    index: int
    text: str
    follows: bool | None
    evidence: str = ""
    follows_from: int | None = None


@dataclass
class DerivationReport:
    lines: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def first_bad(self) -> int | None:
        for c in self.lines:
            if c.follows is False:
                return c.index
        return None

    @property
    def passed(self) -> bool:
        return not self.errors and self.first_bad is None

    @property
    def evidence(self) -> str:
        if self.errors:
            return "; ".join(self.errors)
        bad = [c for c in self.lines if c.follows is False]
        undecided = [c for c in self.lines if c.follows is None and c.index > 1]
        n = len(self.lines)
        if not bad:
            msg = f"each of the {n} lines follows from the one before"
            if undecided:
                msg += "; not decided: " + "; ".join(
                    f"line {c.index}: {c.evidence}" for c in undecided
                )
            return msg
        first = bad[0]
        out = [
            f"line {first.index} ({first.text!r}) does not follow from line "
            f"{first.index - 1}: {first.evidence}"
        ]
        for c in self.lines:
            if c.index <= first.index:
                continue
            if c.follows_from is not None and c.follows_from != c.index - 1:
                out.append(f"line {c.index}: {c.evidence}")
            elif c.follows is False:
                out.append(f"line {c.index} ({c.text!r}) does not follow either: {c.evidence}")
        return "; ".join(out)

    def as_json(self) -> dict:
        return {
            "passed": self.passed,
            "first_wrong_line": self.first_bad,
            "lines": [
                {"line": c.index, "text": c.text, "follows": c.follows, "evidence": c.evidence}
                for c in self.lines
            ],
            "errors": list(self.errors),
        }


def _value(f, point):
    return np.asarray(f(**point), dtype=np.float64)


def _residual(line: Line, point: dict) -> np.ndarray:
    lhs = _value(line.lhs, point)
    rhs = _value(line.rhs, point) if line.rhs is not None else np.zeros_like(lhs)
    return np.broadcast_arrays(lhs - rhs)[0].astype(np.float64).ravel()


def _sides(line: Line, point: dict) -> str:
    lhs = _value(line.lhs, point)
    if line.rhs is None:
        return f"{_show(lhs)}, which should be 0"
    return f"left side {_show(lhs)}, right side {_show(_value(line.rhs, point))}"


def _show(v: Any) -> str:
    v = np.asarray(v)
    return fmt(float(v)) if v.ndim == 0 else render(v.tolist(), 6)


def _at(point: dict, names: Sequence[str]) -> str:
    return ", ".join(f"{k} = {_show(point[k])}" for k in names if k in point)


def _solve(line: Line, point: dict, unknowns: Sequence[str], tol: float) -> dict | None:
    """A point where ``line`` holds: Newton's method on its residual in ``unknowns`` from
    ``point`` (least-squares steps, halved while the residual does not decrease or is not
    finite). None when it does not converge."""
    shapes = [np.shape(point[u]) for u in unknowns]
    sizes = [int(np.prod(s)) for s in shapes]

    def unpack(z):
        out, i = dict(point), 0
        for u, s, n in zip(unknowns, shapes, sizes):
            out[u] = z[i : i + n].reshape(s) if s else float(z[i])
            i += n
        return out

    z = np.concatenate(
        [np.atleast_1d(np.asarray(point[u], dtype=np.float64)).ravel() for u in unknowns]
    )
    try:
        r = _residual(line, unpack(z))
    except FormulaError:
        return None
    for _ in range(60):
        norm = float(np.linalg.norm(r))
        if not np.isfinite(norm):
            return None
        if norm <= tol * (1 + float(np.abs(z).max(initial=0))):
            return unpack(z)
        h = 1e-7 * np.maximum(1.0, np.abs(z))
        jac = np.empty((r.size, z.size))
        for j in range(z.size):
            dz = np.zeros_like(z)
            dz[j] = h[j]
            try:
                jac[:, j] = (_residual(line, unpack(z + dz)) - _residual(line, unpack(z - dz))) / (
                    2 * h[j]
                )
            except FormulaError:
                return None
        step = np.linalg.lstsq(jac, -r, rcond=None)[0]
        t = 1.0
        while t > 1e-6:
            cand = z + t * step
            try:
                rc = _residual(line, unpack(cand))
            except FormulaError:
                rc = np.array([np.nan])
            if np.all(np.isfinite(rc)) and np.linalg.norm(rc) < norm:
                z, r = cand, rc
                break
            t /= 2
        else:
            return None
    return None


def _compare_expressions(
    prev: Line, cur: Line, point: dict, rtol: float, atol: float, names: Sequence[str]
) -> tuple[bool, str]:
    a, b = _value(prev.lhs, point), _value(cur.lhs, point)
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        return False, (
            f"the lines have different shapes: line before {np.shape(a)}, this line "
            f"{np.shape(b)} (at {_at(point, names)})"
        )
    tol = atol + rtol * np.maximum(np.abs(a), np.abs(b))
    rel = cur.relation
    if rel == "=":
        bad = ~(np.abs(a - b) <= tol) & ~((a == b) | (np.isnan(a) & np.isnan(b)))
    elif rel in ("<=", "<"):
        bad = ~(a <= b + tol)
    else:
        bad = ~(a >= b - tol)
    if not bad.any():
        return True, ""
    idx = [tuple(int(i) + 1 for i in ix) for ix in np.argwhere(bad)[:4]]
    where = (
        ""
        if a.ndim == 0
        else f" at component(s) {', '.join(str(i[0] if len(i) == 1 else i) for i in idx)} (1-based)"
    )
    want = {"=": "equal to", "<=": "at least", "<": "at least", ">=": "at most", ">": "at most"}[
        rel
    ]
    return False, (
        f"at {_at(point, names)} this line is {_show(b)} and the line before "
        f"{_show(a)}: not {want} it{where}"
    )


def _compare_equations(
    prev: Line,
    cur: Line,
    point: dict,
    unknowns: Sequence[str],
    rtol: float,
    atol: float,
    names: Sequence[str],
) -> tuple[bool | None, str]:
    if unknowns:
        sol = _solve(prev, point, unknowns, 1e-11)
        if sol is None:
            return None, f"no point found where the line before holds (from {_at(point, names)})"
        r = _residual(cur, sol)
        scale = max(1.0, float(np.abs(_value(cur.lhs, sol)).max(initial=0)))
        if np.all(np.abs(r) <= atol + max(rtol, 1e-7) * scale):
            return True, ""
        return False, (
            f"where the line before holds ({_at(sol, names)}) this line does not: "
            f"{_sides(cur, sol)}"
        )
    ra, rb = _residual(prev, point), _residual(cur, point)
    ra, rb = np.broadcast_arrays(ra, rb)
    if np.allclose(rb, 0, atol=atol) and np.allclose(ra, 0, atol=atol):
        return True, ""
    k = int(np.argmax(np.abs(ra)))
    if abs(ra[k]) <= atol:
        return False, (
            f"at {_at(point, names)} the line before holds but this one does not: "
            f"{_sides(cur, point)}"
        )
    c = rb[k] / ra[k]
    if c != 0 and np.allclose(rb, c * ra, rtol=rtol * 100, atol=atol):
        return True, ""
    return False, (
        f"at {_at(point, names)} its two sides differ by {_show(rb)}, not a multiple "
        f"of the line before's {_show(ra)}"
    )


def check_derivation(
    lines: Sequence[str],
    variables: Sequence[str],
    sample: Callable[[np.random.Generator], dict],
    instance: dict | None = None,
    unknowns: Sequence[str] = (),
    points: int = 5,
    seed: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> DerivationReport:
    """Check ``lines`` (strings) in ``variables``: at ``instance`` (the document's values, if
    given) and at ``points`` random points drawn by ``sample(rng) -> {name: value}``. See the
    module docstring. A line that does not parse is an error of the report (the others are
    still parsed and listed)."""
    report = DerivationReport()
    parsed: list[Line | None] = []
    for i, text in enumerate(lines, 1):
        try:
            parsed.append(parse_line(text, variables))
        except FormulaError as e:
            parsed.append(None)
            report.errors.append(f"line {i}: {e}")
    rng = np.random.default_rng(seed)
    pts = ([dict(instance)] if instance is not None else []) + [sample(rng) for _ in range(points)]
    names = list(variables)
    anchor = 0  # the last line that held (0-based)
    for i, line in enumerate(parsed):
        text = str(lines[i]).strip()
        if line is None:
            report.lines.append(LineCheck(i + 1, text, None, "does not parse"))
            continue
        if i == 0:
            report.lines.append(LineCheck(1, text, None, "first line"))
            continue
        prev = parsed[i - 1]
        if prev is None:
            report.lines.append(LineCheck(i + 1, text, None, "the line before does not parse"))
            continue
        ok, ev = _follows(prev, line, pts, unknowns, rtol, atol, names)
        check = LineCheck(i + 1, text, ok, ev)
        if ok is False and anchor != i - 1 and parsed[anchor] is not None:
            ok2, _ = _follows(parsed[anchor], line, pts, unknowns, rtol, atol, names)
            if ok2:
                check.follows_from = anchor + 1
                check.follows = True
                check.evidence = (
                    f"follows from line {anchor + 1} (the slip of line {i} is not carried on)"
                )
        if check.follows is not False:
            anchor = i
        report.lines.append(check)
    return report


def _follows(prev: Line, cur: Line, pts: list, unknowns, rtol, atol, names):
    undecided = ""
    for point in pts:
        try:
            if prev.is_equation or cur.is_equation:
                if cur.relation != "=":
                    return None, "an inequality between equations is not checked"
                ok, ev = _compare_equations(prev, cur, point, unknowns, rtol, atol, names)
            else:
                ok, ev = _compare_expressions(prev, cur, point, rtol, atol, names)
        except FormulaError as e:
            return False, str(e)
        if ok is False:
            return False, ev
        if ok is None:
            undecided = ev
    if undecided:
        return None, undecided
    return True, f"holds at {len(pts)} points"
