"""Answer slots, and grading one answer against the computed result.

Every exercise has *slots*: the places where a learner puts an answer. A slot has a key (unique in
its exercise), a type, the question text, the points it is worth and whether it belongs to the
*final answer* or the *derivation*. The types:

    value       a number, vector, matrix or dict; compared with the computed value within the
                slot's tolerance (the evidence names the differing components, 1-based)
    formula     an expression in the exercise's named variables (``formula.py``, never ``eval``),
                evaluated on the document's instance and on random re-instances: a formula right
                on one instance only fails. A backprop formula is checked with ``hg.check_vjp``,
                so the evidence names the wrong components.
    derivation  a list of lines in those variables (``derivation.py``): the first line that does
                not follow from the one before is reported, with the numbers
    choice      one of the listed options, compared with the computed one
    code        a program listing, compiled (never run) and inspected
    text        shown to the grader, not judged (no points)

A slot's ``judge(ctx, answer) -> SlotResult`` does the work; ``ctx`` gives the instance's
parameters and the computed ``Result`` (solved once, lazily). ``grade_slot`` catches a bad answer
(wrong shape, a formula that does not parse or uses a forbidden name) and reports it as an
``error`` of that slot only.

The document's own answers go through the same judges (``slot_claim``), so the verdict on a
document and the grade of an answer file are one computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import Claim, Finding, Result, compare, fmt, jsonable, render
from .formula import FormulaError, parse

TYPES = ("value", "formula", "derivation", "choice", "code", "text")
PASS, FAIL, ERROR, UNANSWERED, NOT_JUDGED = "pass", "fail", "error", "unanswered", "not judged"


@dataclass
class SlotResult:
    """The outcome of judging one answer: ``status`` is pass, fail, error, unanswered or
    not judged; ``evidence`` the smallest witness; ``details`` JSON-able data (the derivation's
    per-line report, the instances tried)."""

    status: str
    evidence: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class Slot:
    """One answer slot of an exercise (module docstring)."""

    key: str
    type: str
    question: str
    judge: Callable[[Context, Any], SlotResult] | None = None
    shape: Any = None
    variables: dict = field(default_factory=dict)
    options: Sequence[str] = ()
    points: float = 1.0
    part: str = "final answer"
    example: Any = None

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(
                f"slot {self.key!r}: type must be one of {', '.join(TYPES)}, got {self.type!r}"
            )
        if self.part not in ("final answer", "derivation"):
            raise ValueError(f"slot {self.key!r}: part must be 'final answer' or 'derivation'")

    def describe(self) -> dict:
        """The slot as the template lists it (everything but the answer)."""
        out: dict = {
            "type": self.type,
            "part": self.part,
            "question": self.question,
            "points": self.points if self.type != "text" else 0,
        }
        if self.shape is not None:
            out["shape"] = jsonable(self.shape)
        if self.variables:
            out["variables"] = dict(self.variables)
        if self.options:
            out["options"] = list(self.options)
        if self.example is not None:
            out["example"] = self.example
        return out


class Context:
    """What a judge sees: the exercise, its parameters and the computed result (solved on first
    use, once)."""

    def __init__(self, exercise, params: dict, result: Result | None = None):
        self.exercise = exercise
        self.params = params
        self._result = result

    @property
    def result(self) -> Result:
        if self._result is None:
            self._result = self.exercise.solve(**self.params)
        return self._result

    def solve(self, **overrides: Any) -> Result:
        """The result on the instance with ``overrides`` (e.g. the learner's kernel)."""
        return self.exercise.solve(**{**self.params, **overrides})


def grade_slot(slot: Slot, ctx: Context, answer: Any) -> SlotResult:
    """Judge ``answer`` for ``slot``; a bad answer becomes an ``error`` of this slot."""
    if answer is None or (isinstance(answer, (str, list)) and len(answer) == 0):
        return SlotResult(UNANSWERED, "no answer given")
    if slot.type == "text" or slot.judge is None:
        computed = ""
        if ctx.exercise is not None:
            try:  # what the library computes, for the grader to compare with
                summary = ctx.result.summary
                computed = f"; the library computes: {summary}" if summary else ""
            except Exception:
                computed = ""
        return SlotResult(NOT_JUDGED, "shown to the grader, not judged" + computed)
    try:
        return slot.judge(ctx, answer)
    except FormulaError as e:
        return SlotResult(ERROR, f"formula: {e}")
    except (ValueError, TypeError, KeyError, IndexError) as e:
        return SlotResult(
            ERROR,
            f"{slot.key}: cannot judge the answer {render(answer)[:80]!r}: {type(e).__name__}: {e}",
        )


def slot_claim(
    slot: Slot, answer: Any, source: str, label: str = "", instance_only: bool = False
) -> Claim:
    """The document's ``answer`` for ``slot`` as a Claim of the exercise: judged by the slot's
    own judge, so ``run`` and ``grade`` agree by construction."""

    def check(result: Result, params: dict, exercise=None) -> Finding:
        res = grade_slot(slot, Context(exercise, params, result), answer)
        if res.status == ERROR:
            raise ValueError(res.evidence)
        return Finding(res.status == PASS, res.evidence, answer)

    return Claim(
        answer,
        source,
        label=label or slot.key,
        check=check,
        instance_only=instance_only,
        slot=slot.key,
        part=slot.part,
    )


# ---- judges ----------------------------------------------------------------------------------


def _check_shape(answer: Any, shape: Any) -> np.ndarray:
    try:
        a = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"expected numbers of shape {tuple(shape)}, got {render(answer)!r}"
        ) from None
    if shape is not None and not isinstance(shape, dict) and tuple(a.shape) != tuple(shape):
        raise ValueError(f"expected shape {tuple(shape)}, got shape {a.shape}")
    return a


def value_slot(
    key: str,
    question: str,
    expected: Callable[[Context], Any],
    shape: Any = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    points: float = 1.0,
    part: str = "final answer",
    explain: Callable[[Context, Any], str] | None = None,
    example: Any = None,
) -> Slot:
    """A value compared with ``expected(ctx)`` (numbers within rtol/atol; dicts key by key;
    strings exactly). A numeric answer may be written as an expression without variables
    (``"[1, 1, 1] / 1.11"``). ``explain(ctx, answer)`` may add a sentence to a failure."""

    def judge(ctx: Context, answer: Any) -> SlotResult:
        want = expected(ctx)
        if isinstance(answer, str) and shape is not None and not isinstance(shape, dict):
            answer = np.asarray(parse(answer, ())(), dtype=np.float64).tolist()  # '[1, 1]/3'
        if isinstance(shape, dict):
            if not isinstance(answer, dict):
                raise ValueError(
                    f"expected a dict with keys {', '.join(shape)}, got {render(answer)!r}"
                )
            unknown = sorted(set(answer) - set(shape))
            if unknown:
                raise ValueError(f"unknown key(s) {', '.join(unknown)} (keys: {', '.join(shape)})")
            for k, s in shape.items():
                if k in answer and s is not None and not isinstance(answer[k], str):
                    _check_shape(answer[k], s)
        elif shape is not None:
            _check_shape(answer, shape)
        ok, ev = compare(want, answer, rtol, atol)
        if ok:
            return SlotResult(
                PASS,
                f"equals the computed value {render(want)} (rtol {rtol:g})",
                {"computed": jsonable(want)},
            )
        extra = explain(ctx, answer) if explain else ""
        ev = ev.replace("claimed", "answered")
        return SlotResult(FAIL, ev + (f"; {extra}" if extra else ""), {"computed": jsonable(want)})

    return Slot(
        key, "value", question, judge, shape=shape, points=points, part=part, example=example
    )


def choice_slot(
    key: str,
    question: str,
    options: Sequence[str],
    correct: Callable[[Context], str],
    points: float = 1.0,
) -> Slot:
    def judge(ctx: Context, answer: Any) -> SlotResult:
        if answer not in options:
            raise ValueError(f"choose one of {', '.join(map(repr, options))}, got {answer!r}")
        want = correct(ctx)
        if answer == want:
            return SlotResult(PASS, f"{answer!r} is the computed choice")
        return SlotResult(FAIL, f"computed {want!r}, answered {answer!r}")

    return Slot(key, "choice", question, judge, options=tuple(options), points=points)


def text_slot(key: str, question: str, part: str = "final answer") -> Slot:
    return Slot(key, "text", question, None, points=0, part=part)


def _instances(
    ctx: Context, instance: Callable | None, sample: Callable, points: int, seed: int
) -> list[tuple[str, dict]]:
    rng = np.random.default_rng(seed)
    out = []
    if instance is not None:
        out.append(("the document's instance", instance(ctx)))
    out += [(f"random instance {i + 1}", sample(rng, ctx.params)) for i in range(points)]
    return out


def _show_point(point: dict, names: Sequence[str]) -> str:
    parts = []
    for k in names:
        if k in point:
            v = np.asarray(point[k])
            parts.append(f"{k} = {fmt(float(v)) if v.ndim == 0 else render(v.tolist(), 6)}")
    return ", ".join(parts)


def formula_slot(
    key: str,
    question: str,
    variables: dict,
    reference: Callable[[dict], Any],
    sample: Callable[[np.random.Generator, dict], dict],
    instance: Callable[[Context], dict] | None = None,
    points_tried: int = 5,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    points: float = 1.0,
    part: str = "final answer",
    seed: int = 0,
    example: str | None = None,
) -> Slot:
    """A formula in ``variables`` (name -> meaning) compared with ``reference(values)`` on the
    document's instance (``instance(ctx)``) and ``points_tried`` random ones
    (``sample(rng, params)``). The evidence names the first instance where they differ."""

    def judge(ctx: Context, answer: Any) -> SlotResult:
        f = parse(answer, variables)
        tried = _instances(ctx, instance, sample, points_tried, seed)
        for label, point in tried:
            want = np.asarray(reference(point), dtype=np.float64)
            got = np.asarray(f(**point), dtype=np.float64)
            if got.shape != want.shape:
                try:
                    got = np.broadcast_to(got, want.shape)
                except ValueError:
                    return SlotResult(
                        FAIL,
                        f"on {label} ({_show_point(point, variables)}) the "
                        f"formula has shape {got.shape}, the answer "
                        f"{want.shape}",
                    )
            ok, ev = compare(want, got, rtol, atol)
            if not ok:
                ev = ev.replace("claimed", "formula")
                right_on_doc = label != "the document's instance" and instance is not None
                return SlotResult(
                    FAIL,
                    (
                        f"{'right on the document' + chr(39) + 's instance but ' if right_on_doc else ''}"
                        f"wrong on {label} ({_show_point(point, variables)}): {ev}"
                    ),
                    {"instances_tried": len(tried)},
                )
        return SlotResult(
            PASS,
            f"equals the computed answer on {len(tried)} instances "
            f"({'the document' + chr(39) + 's and ' if instance else ''}"
            f"{points_tried} random)",
            {"instances_tried": len(tried)},
        )

    return Slot(
        key,
        "formula",
        question,
        judge,
        variables=dict(variables),
        points=points,
        part=part,
        example=example,
    )


def vjp_slot(
    key: str,
    question: str,
    fn: Callable,
    inputs: Sequence[str],
    which: int,
    variables: dict,
    sample: Callable[[np.random.Generator, dict], dict],
    instance: Callable[[Context], dict] | None = None,
    points_tried: int = 4,
    points: float = 1.0,
    seed: int = 0,
    example: str | None = None,
    constants: Sequence[str] = (),
) -> Slot:
    """A backprop formula for the gradient of input ``inputs[which]`` of ``fn(*inputs)``, in
    ``variables`` (``g`` the gradient of the output, and the inputs by name). Checked with
    ``hg.check_vjp`` on the document's instance and random ones: the formula against the engine
    and the engine against finite differences; the evidence names the wrong components
    (1-based). ``constants`` are variables given to ``fn`` by keyword as NumPy values and not
    differentiated (data such as SNE's P)."""

    def judge(ctx: Context, answer: Any) -> SlotResult:
        import handgrad as hg

        f = parse(answer, variables)
        tried = _instances(ctx, instance, sample, points_tried, seed)
        for label, point in tried:
            values = [np.asarray(point[n], dtype=np.float64) for n in inputs]
            g = np.asarray(point["g"], dtype=np.float64)
            formula_value = np.asarray(f(**point), dtype=np.float64)
            target = values[which]
            if formula_value.shape != target.shape:
                if formula_value.size == 1 or formula_value.ndim == 0:
                    formula_value = np.broadcast_to(formula_value, target.shape).copy()
                else:
                    prefix = (
                        "right on the document's instance but "
                        if label != "the document's instance" and instance is not None
                        else ""
                    )
                    return SlotResult(
                        FAIL,
                        f"{prefix}wrong on {label}: the formula has shape "
                        f"{formula_value.shape} but {inputs[which]} has shape "
                        f"{target.shape}",
                        {"instances_tried": len(tried)},
                    )
            consts = {c: np.asarray(point[c], dtype=np.float64) for c in constants}

            def bound(*ts, consts=consts):
                return fn(*ts, **consts)

            engine = _engine_vjp(bound, values, g)

            def vjp(gg, *xs, formula_value=formula_value, engine=engine):
                return tuple(formula_value if i == which else engine[i] for i in range(len(inputs)))

            report = hg.check_vjp(bound, vjp, values, grad_output=g)
            r = report.inputs[which]
            if not r.passed:
                shown = "; ".join(
                    f"{_one(ix)}: formula {fmt(float(formula_value[ix]))}, engine "
                    f"{fmt(float(engine[which][ix]))}"
                    for ix in r.bad_indices[:4]
                )
                more = f" and {len(r.bad_indices) - 4} more" if len(r.bad_indices) > 4 else ""
                prefix = (
                    "right on the document's instance but "
                    if label != "the document's instance" and instance is not None
                    else ""
                )
                return SlotResult(
                    FAIL,
                    (
                        f"{prefix}wrong on {label} ({_show_point(point, variables)}): check_vjp: "
                        f"{key} wrong at {len(r.bad_indices)} of "
                        f"{int(np.prod(target.shape)) if target.shape else 1} components (1-based) "
                        f"{shown}{more}"
                    ),
                    {"instances_tried": len(tried)},
                )
        return SlotResult(
            PASS,
            f"check_vjp: formula = engine = finite differences on {len(tried)} instances",
            {"instances_tried": len(tried)},
        )

    return Slot(
        key, "formula", question, judge, variables=dict(variables), points=points, example=example
    )


def _one(ix) -> str:
    ix = tuple(int(i) + 1 for i in ix)
    return str(ix[0]) if len(ix) == 1 else str(ix)


def _engine_vjp(fn: Callable, values: Sequence[np.ndarray], g: np.ndarray) -> list:
    import handgrad as hg

    ts = [hg.tensor(v, dtype=hg.float64, requires_grad=True) for v in values]
    grads = hg.grad(fn(*ts), ts, hg.tensor(g, dtype=hg.float64), allow_unused=True)
    return [np.zeros(v.shape) if gr is None else gr.numpy() for v, gr in zip(values, grads)]


def derivation_slot(
    key: str,
    question: str,
    variables: dict,
    sample: Callable[[np.random.Generator, dict], dict],
    instance: Callable[[Context], dict] | None = None,
    unknowns: Sequence[str] = (),
    points_tried: int = 5,
    points: float = 1.0,
    seed: int = 0,
    example: Sequence[str] | None = None,
) -> Slot:
    """A list of lines in ``variables``, checked line by line (``derivation.check_derivation``)
    at the document's instance and random ones."""
    from .derivation import check_derivation

    def judge(ctx: Context, answer: Any) -> SlotResult:
        if isinstance(answer, str):
            answer = [line for line in answer.splitlines() if line.strip()]
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise TypeError("a derivation is a list of lines (strings)")
        report = check_derivation(
            answer,
            list(variables),
            lambda rng: sample(rng, ctx.params),
            instance=instance(ctx) if instance else None,
            unknowns=unknowns,
            points=points_tried,
            seed=seed,
        )
        if report.errors:
            return SlotResult(ERROR, "; ".join(report.errors), report.as_json())
        return SlotResult(PASS if report.passed else FAIL, report.evidence, report.as_json())

    return Slot(
        key,
        "derivation",
        question,
        judge,
        variables=dict(variables),
        points=points,
        part="derivation",
        example=list(example) if example else None,
    )


def code_slot(
    key: str, question: str, judge: Callable[[Context, str], SlotResult], points: float = 1.0
) -> Slot:
    """A listing, judged by ``judge`` (which may compile it, never run it)."""

    def checked(ctx: Context, answer: Any) -> SlotResult:
        if not isinstance(answer, str):
            raise TypeError("a code answer is a string")
        return judge(ctx, answer)

    return Slot(key, "code", question, checked, points=points)


def claim_slots(exercise) -> list[Slot]:
    """Default slots of an exercise without explicit ones: one value slot per value claim of the
    document (its shape from the claim), else one text slot for the answer."""
    slots = []
    for i, c in enumerate(exercise.claims):
        if c.check is None and not c.uncheckable:
            key = str(c.label or (c.key if isinstance(c.key, str) else None) or "answer")
            if any(s.key == key for s in slots):
                key = f"{key} {i + 1}"
            shape = (
                {k: None for k in c.value}
                if isinstance(c.value, dict)
                else (list(np.shape(c.value)) if not isinstance(c.value, str) else None)
            )
            slots.append(
                value_slot(
                    key,
                    exercise.question,
                    _claim_key_getter(c),
                    shape=shape,
                    rtol=c.rtol,
                    atol=c.atol,
                )
            )
    if not slots:
        slots.append(text_slot("answer", exercise.question))
    return slots


def _claim_key_getter(claim: Claim) -> Callable[[Context], Any]:
    def get(ctx: Context) -> Any:
        v = ctx.result.value
        if claim.key is not None:
            for k in claim.key if isinstance(claim.key, tuple) else (claim.key,):
                v = v[k]
        return v

    return get


def slots_of(exercise) -> list[Slot]:
    """The exercise's slots: its explicit ones, else ``claim_slots``."""
    return list(exercise.slots) if getattr(exercise, "slots", None) else claim_slots(exercise)
