"""Claim builders shared by the documents' exercises: a gradient formula checked as a vjp, a
statement checked by a predicate, a closed form checked against a simulation, and a value that
cannot be checked because the seed lacks what it refers to."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .base import Claim, Finding, Result, fmt


def vjp_claim(
    formula: Callable,
    text: str,
    source: str,
    names: Sequence[str],
    label: str = "",
    one_based: bool = True,
    judge: Sequence[int] | None = None,
    note: str = "",
) -> Claim:
    """The document's backward formula ``formula(g, *inputs) -> gradients`` (NumPy in, NumPy
    out), checked with ``hg.check_vjp`` on the instance in ``result.context`` (``fn``,
    ``inputs`` and optionally ``g``). The evidence names the input and the components where the
    formula disagrees with the engine (which is itself checked against finite differences).
    ``judge`` restricts the verdict to some inputs (when the claim is one equation of several);
    ``note`` is put before the evidence of a disagreement."""

    def check(result: Result, params: dict) -> Finding:
        import handgrad as hg

        ctx = result.context
        report = hg.check_vjp(ctx["fn"], formula, ctx["inputs"], grad_output=ctx.get("g"))
        engine = ctx.get("engine")
        claimed_vals = formula(
            np.array(ctx["g"]), *[np.array(x, dtype=np.float64) for x in ctx["inputs"]]
        )
        if not isinstance(claimed_vals, (tuple, list)):
            claimed_vals = (claimed_vals,)
        bad = []
        for k, (r, name, cv) in enumerate(zip(report.inputs, names, claimed_vals)):
            if r.passed or (judge is not None and k not in judge):
                continue
            cv = np.asarray(cv, dtype=np.float64).reshape(r.shape)
            ev = np.asarray(engine[name], dtype=np.float64).reshape(r.shape) if engine else None
            shown = []
            for ix in r.bad_indices[:4]:
                where = tuple(i + 1 for i in ix) if one_based else ix
                where = where[0] if len(where) == 1 else where
                if ev is not None:
                    shown.append(f"{where}: formula {fmt(cv[ix])}, engine {fmt(ev[ix])}")
                else:
                    shown.append(str(where))
            more = f" and {len(r.bad_indices) - 4} more" if len(r.bad_indices) > 4 else ""
            base = "1-based" if one_based else "0-based"
            bad.append(
                f"{name} wrong at {len(r.bad_indices)} of {int(np.prod(r.shape))} "
                f"components ({base}) {'; '.join(shown)}{more}"
            )
        notes = list(report.notes)
        if bad:
            return Finding(
                False,
                note + "check_vjp: " + "; ".join(bad) + ("; " + "; ".join(notes) if notes else ""),
                text,
            )
        return Finding(
            True, "check_vjp: formula = engine = finite differences on every component", text
        )

    return Claim(text, source, label=label, check=check)


def statement_claim(
    text: str,
    predicate: Callable[[Result, dict], Finding],
    source: str,
    label: str = "",
    instance_only: bool = False,
) -> Claim:
    """A statement (a "show that" of the problem, or a solution's remark) tested by
    ``predicate``."""
    return Claim(text, source, label=label, check=predicate, instance_only=instance_only)


def uncheckable_claim(value: Any, source: str, why: str, label: str = "") -> Claim:
    """The document's answer refers to something not in the seed (a figure, a question's
    options): transcribed and reported, never judged (the verdict stays 'no claim')."""
    return Claim(value, source, label=label, uncheckable=why)


def within_ci(simulated: float, sem: float, exact: float, z: float = 3.29) -> tuple[bool, str]:
    """Whether ``exact`` lies in the simulation's two-sided confidence interval
    ``simulated +- z sem`` (z = 3.29: 99.9%), and a sentence saying so."""
    lo, hi = simulated - z * sem, simulated + z * sem
    ok = lo <= exact <= hi
    conf = {1.96: "95%", 2.58: "99%", 3.29: "99.9%"}.get(z, f"z={z}")
    return ok, (
        f"closed form {fmt(exact, 6)} {'inside' if ok else 'OUTSIDE'} the {conf} "
        f"interval of the simulation [{fmt(lo, 6)}, {fmt(hi, 6)}]"
    )


def mean_sem(x: Any) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def derivation_claim(
    lines: Sequence[str],
    variables: Sequence[str],
    sample: Callable,
    source: str,
    label: str,
    instance: Callable[[Result, dict], dict] | None = None,
    unknowns: Sequence[str] = (),
) -> Claim:
    """The document's derivation ``lines`` (expressions or equations in ``variables``), checked
    line by line (``derivation.check_derivation``) at the instance (``instance(result, params)``)
    and at random points (``sample(rng, params)``): the evidence names the first line that does
    not follow from the one before, with the numbers. A claim of the 'derivation' part."""
    from .derivation import check_derivation

    def check(result: Result, params: dict) -> Finding:
        report = check_derivation(
            lines,
            variables,
            lambda rng: sample(rng, params),
            instance=instance(result, params) if instance else None,
            unknowns=unknowns,
        )
        return Finding(report.passed, report.evidence, list(lines))

    return Claim(
        list(lines), source, label=label, check=check, instance_only=False, part="derivation"
    )
