"""``handgrad.exercises``: every question of the problem sets in ``shared/seeds`` as an executable
exercise, its answer computed with the library and the document's answer checked.

    import handgrad.exercises as ex
    ex.ids()                                   # every exercise, in document order
    v = ex.run_one("002-a2-backprop")          # solve and judge: a Verdict
    v.verdict, v.evidence                      # 'disagree', 'formula (6) read with its last ...'
    ex.run_one("000-a4b-receptive-field", layers=[[3, 1, 1], [3, 2, 1]])

The questions (``questions.json``) are data beside the registry: each has an id that names its
document and place (``000-a1-scan-backprop`` is problem set 000, Assignment 1), and every id has
exactly one exercise (a test fails otherwise). The exercises live in one module per document
(``doc000`` ... ``doc004``); ``base`` defines ``Exercise``, ``Claim``, ``Verdict`` and ``check``.
From the command line: ``handgrad exercises list|run|docs|template|grade`` (``python -m
handgrad.exercises``); answer files and grading: ``answers``, ``grading``, ``formula``,
``derivation`` (see docs/answers.md).
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .base import (  # noqa: F401
    AGREE,
    DISAGREE,
    NO_CLAIM,
    UNAVAILABLE,
    Claim,
    Exercise,
    Finding,
    Result,
    Verdict,
    check,
    progress,
    set_progress,
)

DOCUMENT_MODULES = ("doc000", "doc001", "doc002", "doc003", "doc004")

_REGISTRY: dict[str, Exercise] = {}
_loaded = False


@functools.cache
def _questions_data() -> dict:
    return json.loads((Path(__file__).with_name("questions.json")).read_text(encoding="utf-8"))


def questions() -> list[dict]:
    """Every question and sub-question of the seed documents, in document order (from
    ``questions.json``): dicts with ``id``, ``ref``, ``question``, ``answered_by`` and, for the
    student's exam, ``reconstructed``."""
    return [dict(q) for q in _questions_data()["questions"]]


def documents() -> dict[str, str]:
    """Document number -> file name and description."""
    return dict(_questions_data()["documents"])


_EXTRA_QUESTIONS: dict[str, dict] = {}


def question(id: str) -> dict:
    for q in _questions_data()["questions"]:
        if q["id"] == id:
            return dict(q)
    if id in _EXTRA_QUESTIONS:
        return dict(_EXTRA_QUESTIONS[id])
    raise KeyError(f"no question {id!r} in questions.json")


_lookup_question = question  # ``exercise()`` has a parameter of that name


def exercise(
    id: str,
    *,
    params: dict | None = None,
    claims: Sequence[Claim] = (),
    derivation: str = "",
    answer: str = "",
    note: str = "",
    requires: Sequence[str] = (),
    slow: bool = False,
    slots: Sequence[Any] = (),
    question: str | None = None,
    ref: str = "",
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Decorator registering ``solve`` as the exercise ``id`` (whose question text is taken from
    ``questions.json``). ``params`` are the defaults (the document's instance), ``claims`` the
    document's answers, ``answer`` a short written answer, ``note`` how the instance was chosen,
    ``requires`` the library features needed (``'module'`` or ``'module:attribute'``),
    ``slots`` the answer slots a learner fills in (``grading.Slot``; default: one per value
    claim). A teacher's own exercise (``--extra``) gives its ``question`` text and ``ref``
    here instead of in ``questions.json``."""
    question_text = question

    def register(solve: Callable[..., Result]) -> Callable[..., Result]:
        if id in _REGISTRY:
            raise ValueError(f"exercise {id!r} is registered twice")
        if question_text is not None:
            _EXTRA_QUESTIONS[id] = {
                "id": id,
                "ref": ref or id,
                "question": question_text,
                "answered_by": "none",
            }
        q = _lookup_question(id)
        _REGISTRY[id] = Exercise(
            id=id,
            question=q["question"],
            solve=solve,
            params=dict(params or {}),
            claims=list(claims),
            derivation=_dedent(derivation),
            answer=_dedent(answer),
            note=_dedent(note),
            requires=tuple(requires),
            source=q["ref"],
            slow=slow,
            slots=list(slots),
            reconstructed=bool(q.get("reconstructed")),
        )
        return solve

    return register


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip()


def _load() -> None:
    global _loaded
    if not _loaded:
        for name in DOCUMENT_MODULES:
            importlib.import_module(f"{__name__}.{name}")
        _loaded = True


def registry() -> dict[str, Exercise]:
    """id -> Exercise, in document order."""
    _load()
    order = {q["id"]: i for i, q in enumerate(_questions_data()["questions"])}
    return dict(sorted(_REGISTRY.items(), key=lambda kv: order.get(kv[0], len(order))))


def ids() -> list[str]:
    return list(registry())


def get(id: str) -> Exercise:
    reg = registry()
    if id not in reg:
        raise KeyError(f"no exercise {id!r}")
    return reg[id]


def select(patterns: Iterable[str] | None = None) -> list[Exercise]:
    """The exercises matching any of ``patterns``: an exact id, a prefix (``002``, ``004-q5``)
    or a shell pattern (``*-backprop``). No patterns: all of them. An unmatched pattern is an
    error that lists what exists."""
    reg = registry()
    patterns = list(patterns or [])
    if not patterns:
        return list(reg.values())
    chosen: list[str] = []
    for pat in patterns:
        if pat in reg:
            hits = [pat]
        elif any(ch in pat for ch in "*?["):
            hits = [i for i in reg if fnmatch.fnmatch(i, pat)]
        else:
            hits = [i for i in reg if i.startswith(pat)]
        if not hits:
            raise KeyError(f"no exercise matches {pat!r} (see 'handgrad exercises list')")
        chosen += [h for h in hits if h not in chosen]
    return [reg[i] for i in chosen]


def run_one(id: str, **params: Any) -> Verdict:
    """Solve and judge one exercise, with ``params`` overriding the document's instance."""
    return check(get(id), **params)


def run(
    patterns: Iterable[str] | None = None,
    settings: dict | None = None,
    on_start: Callable[[int, int, Exercise], None] | None = None,
    on_done: Callable[[int, int, Verdict], None] | None = None,
) -> list[Verdict]:
    """Judge the selected exercises. ``settings`` (KEY -> value) are given to every selected
    exercise that has that parameter; a key no selected exercise has is an error."""
    chosen = select(patterns)
    settings = dict(settings or {})
    unused = [k for k in settings if not any(k in e.params for e in chosen)]
    if unused:
        raise KeyError(f"no selected exercise has a parameter {', '.join(unused)}")
    verdicts = []
    for i, ex in enumerate(chosen, 1):
        if on_start:
            on_start(i, len(chosen), ex)
        overrides = {k: v for k, v in settings.items() if k in ex.params}
        start = time.perf_counter()
        v = check(ex, **overrides)
        v.seconds = time.perf_counter() - start
        verdicts.append(v)
        if on_done:
            on_done(i, len(chosen), v)
    return verdicts


__all__ = [
    "AGREE",
    "DISAGREE",
    "NO_CLAIM",
    "UNAVAILABLE",
    "Claim",
    "Exercise",
    "Finding",
    "Result",
    "Verdict",
    "check",
    "documents",
    "exercise",
    "get",
    "ids",
    "progress",
    "question",
    "questions",
    "registry",
    "run",
    "run_one",
    "select",
    "set_progress",
]
