"""Answer files: the template a learner fills in, reading it back, grading it, the report.

The format is JSON (no dependency beyond the standard library; see ``docs/answers.md``)::

    {
      "format": "handgrad-answers", "version": 1, "name": "who answers",
      "exercises": {
        "002-a2-backprop": {
          "question": "...", "reconstructed": false,
          "params": {"N": 9, "a": 1.5, "b": -0.3, "seed": 0},
          "slots": {
            "dL/da": {"type": "formula", "part": "final answer", "question": "...",
                      "variables": {"g": "...", "x": "..."}, "points": 1, "answer": null}
          }
        }
      }
    }

Only ``answer`` (and optionally ``params``) is read when grading; the rest is the template's
description of the slot. A slot may also be given as its bare answer (``"dL/da": "sum(g)"``).
A bad file (not JSON, not this format) is an ``AnswerFileError``; a bad entry (unknown exercise,
unknown slot, bad parameter, wrong shape, a formula that does not parse or uses a forbidden name)
is an error of that entry, and everything else is still graded.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import jsonable
from .base import render as render_value
from .grading import (
    ERROR,
    FAIL,
    NOT_JUDGED,
    PASS,
    UNANSWERED,
    Context,
    SlotResult,
    grade_slot,
    slots_of,
)

FORMAT, VERSION = "handgrad-answers", 1


class AnswerFileError(ValueError):
    """The file as a whole cannot be read as an answer file."""


def template(exercises: Iterable, name: str = "") -> dict:
    """The answer file for ``exercises``: every slot with its key, type, shape or variables, the
    question in full and ``"answer": null``."""
    out: dict = {"format": FORMAT, "version": VERSION, "name": name, "exercises": {}}
    for ex in exercises:
        entry: dict = {
            "question": ex.question,
            "source": ex.source,
            "reconstructed": bool(getattr(ex, "reconstructed", False)),
        }
        if ex.params:
            entry["params"] = jsonable(ex.params)
        entry["slots"] = {}
        for slot in slots_of(ex):
            desc = slot.describe()
            desc["answer"] = None
            entry["slots"][slot.key] = desc
        out["exercises"][ex.id] = entry
    return out


def load(path: str | Path) -> dict:
    """Read an answer file; ``AnswerFileError`` says what is wrong with it as a whole."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise AnswerFileError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise AnswerFileError(
            f"{path} is not JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    return check_format(data, str(path))


def check_format(data: Any, where: str = "the answer file") -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
        raise AnswerFileError(
            f"{where} is not an answer file: expected an object with "
            f"'exercises' (write one with 'handgrad exercises template')"
        )
    if data.get("format", FORMAT) != FORMAT:
        raise AnswerFileError(f"{where}: format {data.get('format')!r}, expected {FORMAT!r}")
    if int(data.get("version", VERSION)) > VERSION:
        raise AnswerFileError(
            f"{where}: version {data.get('version')} is newer than this handgrad reads ({VERSION})"
        )
    return data


@dataclass
class SlotGrade:
    key: str
    type: str
    part: str
    status: str
    evidence: str
    points: float
    max_points: float
    answer: Any = None
    details: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "type": self.type,
            "part": self.part,
            "status": self.status,
            "evidence": self.evidence,
            "points": self.points,
            "max_points": self.max_points,
            "answer": jsonable(self.answer),
            "details": jsonable(self.details),
        }


@dataclass
class ExerciseGrade:
    id: str
    question: str = ""
    reconstructed: bool = False
    params: dict = field(default_factory=dict)
    slots: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def part(self, name: str) -> tuple[float, float, str]:
        """(points, max points, verdict) of the 'final answer' or 'derivation' slots."""
        mine = [s for s in self.slots if s.part == name and s.status != NOT_JUDGED]
        if not mine:
            return 0.0, 0.0, "none"
        got, top = sum(s.points for s in mine), sum(s.max_points for s in mine)
        if any(s.status == ERROR for s in mine):
            verdict = "error"
        elif all(s.status == PASS for s in mine):
            verdict = "right"
        elif any(s.status == UNANSWERED for s in mine) and not any(s.status == FAIL for s in mine):
            verdict = "unanswered"
        else:
            verdict = "wrong"
        return got, top, verdict

    @property
    def points(self) -> float:
        return sum(s.points for s in self.slots)

    @property
    def max_points(self) -> float:
        return sum(s.max_points for s in self.slots)

    @property
    def passed(self) -> bool:
        return not self.errors and all(s.status in (PASS, NOT_JUDGED) for s in self.slots)

    def as_json(self) -> dict:
        out = {
            "id": self.id,
            "question": self.question,
            "reconstructed": self.reconstructed,
            "params": jsonable(self.params),
            "errors": list(self.errors),
            "points": self.points,
            "max_points": self.max_points,
            "passed": self.passed,
            "slots": [s.as_json() for s in self.slots],
        }
        for name in ("final answer", "derivation"):
            got, top, verdict = self.part(name)
            out[name.replace(" ", "_")] = {"verdict": verdict, "points": got, "max_points": top}
        return out


@dataclass
class Grade:
    name: str
    exercises: list

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.exercises)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "points": self.points,
            "max_points": self.max_points,
            "passed": self.passed,
            "exercises": [e.as_json() for e in self.exercises],
        }


def grade(data: dict, settings: dict | None = None, registry: dict | None = None) -> Grade:
    """Grade an answer file's ``data`` (``load``). ``settings`` (KEY -> value, as ``--set``)
    override the parameters of every exercise that has them, after the file's own ``params``."""
    from . import registry as _registry

    data = check_format(data)
    reg = registry if registry is not None else _registry()
    settings = dict(settings or {})
    out = []
    for ex_id, entry in data["exercises"].items():
        eg = ExerciseGrade(ex_id)
        out.append(eg)
        if ex_id not in reg:
            eg.errors.append(f"unknown exercise {ex_id!r} (see 'handgrad exercises list')")
            continue
        ex = reg[ex_id]
        eg.question, eg.reconstructed = ex.question, bool(getattr(ex, "reconstructed", False))
        if not isinstance(entry, dict):
            eg.errors.append(
                f"{ex_id}: expected an object with 'slots', got {render_value(entry)!r}"
            )
            continue
        params = dict(ex.params)
        given = {
            **(entry.get("params") or {}),
            **{k: v for k, v in settings.items() if k in ex.params},
        }
        unknown = sorted(set(given) - set(ex.params))
        if unknown:
            eg.errors.append(
                f"{ex_id}: unknown parameter(s) {', '.join(unknown)} (parameters: "
                f"{', '.join(ex.params) or 'none'})"
            )
        params.update({k: v for k, v in given.items() if k in ex.params})
        eg.params = params
        slots = {s.key: s for s in slots_of(ex)}
        answers = entry.get("slots") or {}
        if not isinstance(answers, dict):
            eg.errors.append(f"{ex_id}: 'slots' must be an object")
            continue
        missing = ex.missing()
        ctx = Context(ex, params)
        for key, given_slot in answers.items():
            answer = given_slot.get("answer") if isinstance(given_slot, dict) else given_slot
            if key not in slots:
                eg.slots.append(
                    SlotGrade(
                        key,
                        "?",
                        "final answer",
                        ERROR,
                        f"unknown slot {key!r} (slots: {', '.join(slots)})",
                        0.0,
                        0.0,
                        answer,
                    )
                )
                continue
            slot = slots[key]
            top = 0.0 if slot.type == "text" else float(slot.points)
            if missing:
                res = SlotResult(ERROR, "needs " + ", ".join(missing))
            else:
                try:
                    res = grade_slot(slot, ctx, answer)
                except Exception as e:
                    res = SlotResult(
                        ERROR, f"the exercise failed on this instance: {type(e).__name__}: {e}"
                    )
            got = top if res.status == PASS else 0.0
            eg.slots.append(
                SlotGrade(
                    key,
                    slot.type,
                    slot.part,
                    res.status,
                    res.evidence,
                    got,
                    top,
                    answer,
                    res.details,
                )
            )
    return Grade(str(data.get("name", "")), out)


# ---- reports ---------------------------------------------------------------------------------


def _pts(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else f"{x:g}"


def _mark(eg: ExerciseGrade) -> str:
    return " (reconstructed question)" if eg.reconstructed else ""


def _answer_text(a: Any) -> str:
    if isinstance(a, list) and a and all(isinstance(v, str) for v in a):
        return " | ".join(a)
    return a if isinstance(a, str) else render_value(a)


def render_table(g: Grade, width: int = 100) -> str:
    """A plain-text report; long text is wrapped, never cut."""
    out = [f"Answers of {g.name}" if g.name else "Answers", ""]
    wrap = textwrap.TextWrapper(width=width, initial_indent="      ", subsequent_indent="      ")
    for eg in g.exercises:
        head = f"{eg.id}{_mark(eg)}: {_pts(eg.points)}/{_pts(eg.max_points)} points"
        parts = []
        for name in ("final answer", "derivation"):
            got, top, verdict = eg.part(name)
            if verdict != "none":
                parts.append(f"{name} {verdict} ({_pts(got)}/{_pts(top)})")
        out.append(head + ("; " + ", ".join(parts) if parts else ""))
        for err in eg.errors:
            out += wrap.wrap("ERROR: " + err)
        for s in eg.slots:
            out.append(f"  [{s.status}] {s.key} ({s.type}, {_pts(s.points)}/{_pts(s.max_points)})")
            out += wrap.wrap("answer: " + _answer_text(s.answer))
            if s.evidence:
                out += wrap.wrap(s.evidence)
        out.append("")
    out.append(
        f"Total: {_pts(g.points)}/{_pts(g.max_points)} points; "
        f"{'all slots passed' if g.passed else 'not all slots passed'}"
    )
    return "\n".join(out)


def _md(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(g: Grade) -> str:
    out = [
        f"Total: **{_pts(g.points)}/{_pts(g.max_points)} points**"
        f"{' (all slots passed)' if g.passed else ''}.",
        "",
        "| exercise | slot | part | answer | verdict | points | evidence |",
        "|---|---|---|---|---|---|---|",
    ]
    for eg in g.exercises:
        label = f"`{eg.id}`" + (" *(reconstructed)*" if eg.reconstructed else "")
        for err in eg.errors:
            out.append(f"| {label} | | | | error | 0 | {_md(err)} |")
        for s in eg.slots:
            out.append(
                f"| {label} | {_md(s.key)} | {s.part} | {_md(_answer_text(s.answer))} | "
                f"{s.status} | {_pts(s.points)}/{_pts(s.max_points)} | "
                f"{_md(s.evidence)} |"
            )
    return "\n".join(out)


def report(g: Grade, fmt: str) -> str:
    """The graded file as ``table``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(g.as_json(), indent=2, allow_nan=False)
    if fmt == "markdown":
        return render_markdown(g)
    return render_table(g)
