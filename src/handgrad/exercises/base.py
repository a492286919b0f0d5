"""What an exercise is, and how its answer is judged.

An ``Exercise`` is one question (or sub-question) of a seed document: its id, the question, the
parameters of the instance (the document's numbers by default), a ``solve(**params)`` that
computes the answer with the library, and the ``claims``: answers the document gives, transcribed.
``check(exercise, **overrides)`` runs ``solve`` and compares each claim with the computed answer:

    agree       every applicable claim matches the computed answer
    disagree    some claim does not; the evidence says where (the indices of a wrong gradient
                formula, the layer where a receptive field diverges, the components that differ)
    no claim    the document gives no answer here (or only one for a different instance)
    unavailable the library feature the exercise needs is not installed

A disagreement is a finding about the document, not a failure of the exercise.

Claims come in two kinds. A *value* claim is the document's number for the document's instance;
it is compared with the computed value (by ``key`` into it, with a tolerance) and applies only while
the parameters are the defaults. A *checked* claim carries a ``check(result, params) -> Finding``
that tests a formula or a statement on the current instance (a vjp with ``hg.check_vjp``, a
recursion against the library's receptive field, a closed form against a simulation), so it
applies to any parameters.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

AGREE, DISAGREE, NO_CLAIM, UNAVAILABLE = "agree", "disagree", "no claim", "unavailable"
CONSISTENT = "consistent (reconstructed)"  # agree, but the question was rebuilt from the answer
CHECK_FAILED = "check failed"  # the exercise's own check (check_vjp, a simulation) failed


@dataclass
class Result:
    """What ``solve`` returns.

    ``value`` is the computed answer as plain data (numbers, lists, dicts, strings): it is what
    ``--format json`` prints as ``computed``. ``summary`` is the one-line form for the table
    (default: a compact rendering of ``value``). ``details`` are further JSON-able numbers for
    the report (confidence intervals, the instance). ``context`` holds objects a claim's check
    needs (the forward function, the inputs); it is never printed. ``checks`` are the exercise's
    own checks, name -> (passed, evidence): a ``check_vjp`` of the computed formula, a simulation
    against its closed form. If one fails the verdict is ``check failed`` (whatever the claims
    say) and the command exits non-zero.
    """

    value: Any
    summary: str | None = None
    details: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


@dataclass
class Finding:
    """The outcome of comparing one claim: ``agree`` and the smallest evidence. ``claimed`` may
    replace the transcribed value in the report (a formula's value on the instance)."""

    agree: bool
    evidence: str = ""
    claimed: Any = None


@dataclass
class Claim:
    """An answer the document gives. ``source`` says whose: 'official solution, eq. (6)',
    'student', 'problem statement' (for "show that" questions, the statement itself).

    With ``check`` the claim is tested by that function (and applies to any parameters unless
    ``instance_only``); without it, ``value`` is compared with the computed value (``key``
    selects a part of a dict answer) within ``rtol``/``atol``, and the claim applies only to the
    document's instance. ``uncheckable`` (a reason) marks an answer that refers to something the
    seed does not contain (a figure, a question's options): it is reported, never judged.
    """

    value: Any
    source: str
    label: str = ""
    key: Any = None
    check: Callable[[Result, dict], Finding] | None = None
    instance_only: bool | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    uncheckable: str = ""
    slot: str = ""
    part: str = "final answer"

    def applies(self, params: dict, defaults: dict) -> bool:
        only = self.check is None if self.instance_only is None else self.instance_only
        return not only or all(_same(params[k], defaults[k]) for k in defaults)


@dataclass
class Exercise:
    """One question of a seed document, executable. See the module docstring."""

    id: str
    question: str
    solve: Callable[..., Result]
    params: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)
    derivation: str = ""
    answer: str = ""
    note: str = ""
    requires: tuple = ()
    source: str = ""
    slow: bool = False
    slots: list = field(default_factory=list)
    reconstructed: bool = False

    @property
    def document(self) -> str:
        return self.id.split("-", 1)[0]

    def missing(self) -> list[str]:
        """The requirements (``'module'`` or ``'module:attribute'``) that cannot be imported."""
        return [r for r in self.requires if not _importable(r)]


@dataclass
class Verdict:
    """The judged answer of one exercise; ``as_json()`` is one object of ``--format json``."""

    id: str
    question: str
    computed: Any
    claimed: Any
    verdict: str
    evidence: str
    summary: str = ""
    claimed_summary: str = ""
    details: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    seconds: float = 0.0
    findings: list = field(default_factory=list)
    reconstructed: bool = False
    parts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    checks: dict = field(default_factory=dict)
    explanation: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "question": self.question,
            "reconstructed": self.reconstructed,
            "computed": jsonable(self.computed),
            "claimed": jsonable(self.claimed),
            "summary": self.summary,
            "verdict": self.verdict,
            "final_answer": self.parts.get("final answer", NO_CLAIM),
            "derivation": self.parts.get("derivation", NO_CLAIM),
            "evidence": self.evidence,
            "claims": jsonable(self.findings),
            "notes": list(self.notes),
            "checks": jsonable(self.checks),
            "params": jsonable(self.params),
            "seconds": round(self.seconds, 3),
            **jsonable(self.explanation),
        }

    def disagreements(self) -> str:
        """The evidence of the disagreeing claims only (for the errata)."""
        bad = [f for f in self.findings if not f["agree"]]
        if len(self.findings) <= 1:
            return self.evidence
        return "; ".join(f"[{f['label']}] {f['evidence']}" for f in bad)


# ---- progress -------------------------------------------------------------------------------

_progress_hook: Callable[[str], None] | None = None


def set_progress(hook: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Install the function that receives progress messages (None: silent); returns the old."""
    global _progress_hook
    old, _progress_hook = _progress_hook, hook
    return old


def progress(done: int, total: int, what: str = "") -> None:
    """Report that ``done`` of ``total`` steps of a simulation are finished."""
    if _progress_hook is not None:
        _progress_hook(f"{what} {done}/{total}".strip())


def tty_progress(stream: Any = None) -> Callable[[str], None]:
    """A progress hook that rewrites one status line on a terminal (at most ~10 times a second)."""
    stream = stream or sys.stderr
    last = [0.0]

    def hook(message: str) -> None:
        now = time.monotonic()
        if now - last[0] > 0.1:
            last[0] = now
            stream.write("\r\033[K  " + message)
            stream.flush()

    return hook


# ---- judging ---------------------------------------------------------------------------------


def check(exercise: Exercise, **overrides: Any) -> Verdict:
    """Solve ``exercise`` with its default parameters updated by ``overrides`` and judge every
    claim that applies (see the module docstring)."""
    unknown = sorted(set(overrides) - set(exercise.params))
    if unknown:
        known = ", ".join(exercise.params) or "none"
        raise ValueError(
            f"{exercise.id}: unknown parameter(s) {', '.join(unknown)} (parameters: {known})"
        )
    params = {**exercise.params, **overrides}
    missing = exercise.missing()
    if missing:
        return Verdict(
            exercise.id,
            exercise.question,
            None,
            _claimed_values(exercise.claims),
            UNAVAILABLE,
            "needs " + ", ".join(missing),
            summary="unavailable",
            params=params,
        )
    start = time.perf_counter()
    result = exercise.solve(**params)
    findings, labels, claimed, notes, sources, parts = [], [], [], [], [], []
    for claim in exercise.claims:
        if claim.uncheckable:
            notes.append(f"not checkable: {claim.uncheckable}")
            continue
        if not claim.applies(params, exercise.params):
            notes.append(
                "the document's answer is for its own instance; with these parameters "
                "there is no claim to compare"
            )
            continue
        if claim.check is None:
            finding = _compare_claim(claim, result)
        elif claim.slot:  # judged by an answer slot, which may re-solve the exercise
            finding = claim.check(result, params, exercise)
        else:
            finding = claim.check(result, params)
        findings.append(finding)
        parts.append(claim.part)
        labels.append(claim.label or claim.source)
        sources.append(claim.source)
        claimed.append(finding.claimed if finding.claimed is not None else claim.value)
    seconds = time.perf_counter() - start
    reconstructed = bool(getattr(exercise, "reconstructed", False))
    agree = CONSISTENT if reconstructed else AGREE
    if not findings:
        evidence = "; ".join(dict.fromkeys(notes))
        verdict = NO_CLAIM
    else:
        verdict = agree if all(f.agree for f in findings) else DISAGREE
        shown = []
        for f, label in zip(findings, labels):
            if f.evidence:
                said = "agrees" if f.agree else "DISAGREES"
                tag = "" if len(findings) == 1 else f"[{label}: {said}] "
                shown.append(tag + f.evidence)
        evidence = "; ".join(shown)
    if not claimed:  # nothing judged: still show what the document says
        claimed_value = _claimed_values(exercise.claims)
    elif len(claimed) == 1:
        claimed_value = claimed[0]
    else:
        claimed_value = {label: v for label, v in zip(labels, claimed)}
    summary = result.summary if result.summary is not None else render(result.value)
    per_claim = [
        {"label": label, "source": src, "part": part, "agree": f.agree, "evidence": f.evidence}
        for f, label, src, part in zip(findings, labels, sources, parts)
    ]
    by_part = {}
    for name in ("final answer", "derivation"):
        mine = [f for f, part in zip(findings, parts) if part == name]
        by_part[name] = (
            NO_CLAIM if not mine else (agree if all(f.agree for f in mine) else DISAGREE)
        )
    notes = notes + list(result.notes)
    failed = {k: v for k, v in result.checks.items() if not v[0]}
    if failed:
        verdict = CHECK_FAILED
        evidence = (
            "the exercise's own check failed: "
            + "; ".join(f"{k}: {v[1]}" for k, v in failed.items())
            + (f"; {evidence}" if evidence else "")
        )
    if reconstructed and verdict not in (CHECK_FAILED,):
        notes = [
            "the question is reconstructed from the answer (it is not in the document)"
        ] + notes
    return Verdict(
        exercise.id,
        exercise.question,
        result.value,
        claimed_value,
        verdict,
        evidence,
        summary=summary,
        claimed_summary=render(claimed_value),
        details=result.details,
        params=params,
        seconds=seconds,
        findings=per_claim,
        reconstructed=reconstructed,
        parts=by_part,
        notes=list(dict.fromkeys(notes)),
        checks={k: {"passed": bool(v[0]), "evidence": v[1]} for k, v in result.checks.items()},
        explanation=explanation(exercise),
    )


def explanation(exercise: Exercise) -> dict:
    """What ``run --explain`` prints and ``--format json`` carries: the full question, the
    derivation, the answer in words, the notes, and whether the question is reconstructed."""
    return {
        "question_full": exercise.question,
        "source": exercise.source,
        "derivation_text": exercise.derivation,
        "answer_in_words": exercise.answer,
        "note": exercise.note,
    }


def _claimed_values(claims: Sequence[Claim]) -> Any:
    if not claims:
        return None
    if len(claims) == 1:
        return claims[0].value
    return {c.label or c.source: c.value for c in claims}


def _compare_claim(claim: Claim, result: Result) -> Finding:
    computed = result.value
    if claim.key is not None:
        for k in claim.key if isinstance(claim.key, tuple) else (claim.key,):
            computed = computed[k]
    ok, evidence = compare(computed, claim.value, claim.rtol, claim.atol)
    return Finding(ok, evidence or "equals the computed value")


def compare(
    computed: Any, claimed: Any, rtol: float = 1e-6, atol: float = 1e-9
) -> tuple[bool, str]:
    """Whether ``claimed`` matches ``computed``, and if not the smallest evidence: the differing
    components of an array (1-based index, computed, claimed), the differing keys of a dict."""
    if isinstance(claimed, dict):
        bad = []
        for k, v in claimed.items():
            if not isinstance(computed, dict) or k not in computed:
                bad.append(f"{k}: not computed")
                continue
            ok, ev = compare(computed[k], v, rtol, atol)
            if not ok:
                bad.append(f"{k}: {ev}")
        return not bad, "; ".join(bad)
    if isinstance(claimed, str) or isinstance(computed, str):
        ok = str(claimed).strip() == str(computed).strip()
        return ok, "" if ok else f"computed {computed!r}, claimed {claimed!r}"
    try:
        a = np.asarray(computed, dtype=np.float64)
        b = np.asarray(claimed, dtype=np.float64)
    except (TypeError, ValueError):
        ok = computed == claimed
        return ok, "" if ok else f"computed {computed!r}, claimed {claimed!r}"
    if a.shape != b.shape:
        return False, f"shape: computed {a.shape}, claimed {b.shape}"
    close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return True, ""
    if a.ndim == 0:
        return False, f"computed {fmt(float(a))}, claimed {fmt(float(b))}"
    bad = np.argwhere(~close)
    # the documents number components from 1, so the evidence does too
    shown = ", ".join(
        f"{tuple(int(i) + 1 for i in ix) if len(ix) > 1 else int(ix[0]) + 1}: "
        f"computed {fmt(float(a[tuple(ix)]))}, claimed {fmt(float(b[tuple(ix)]))}"
        for ix in bad[:6]
    )
    more = f" (and {len(bad) - 6} more)" if len(bad) > 6 else ""
    return False, f"components differ (1-based) at {shown}{more}"


# ---- rendering -------------------------------------------------------------------------------


def fmt(x: float, digits: int = 4) -> str:
    """A number in at most ``digits`` significant digits (integers as integers)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e12:
        return str(int(x))
    return f"{x:.{digits}g}"


def render(value: Any, limit: int = 8) -> str:
    """A compact one-line rendering of an answer for the table."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {render(v, limit)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=object)
        if (
            arr.ndim > 1
            and arr.dtype != object
            or (arr.ndim > 1 and all(isinstance(v, (int, float, np.number)) for v in arr.ravel()))
        ):
            return "[" + "; ".join(render(list(row), limit) for row in arr) + "]"
        items = [
            render(v, limit) if not isinstance(v, (int, float, np.number)) else fmt(v)
            for v in list(value)[:limit]
        ]
        more = ", ..." if len(value) > limit else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(value, (int, float, np.number, bool, np.bool_)):
        return fmt(value)
    return str(value)


def jsonable(value: Any) -> Any:
    """Plain JSON data: NumPy numbers and arrays become numbers and lists; non-finite floats
    become the strings 'inf', '-inf', 'nan' (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v):
            return v
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if value is None or isinstance(value, str):
        return value
    return str(value)


# ---- helpers ---------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except Exception:  # noqa: BLE001  (ragged structures: fall back to ==)
        return a == b


def _importable(requirement: str) -> bool:
    import importlib

    module, _, attr = requirement.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return not attr or hasattr(mod, attr)
