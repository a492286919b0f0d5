"""The exercises framework: every question of the seed documents has an exercise and every
exercise a second-route test; check() judges claims as documented; the command line and the
generated report say what they should."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import handgrad.exercises as ex
from handgrad import cli
from handgrad.exercises import base
from handgrad.exercises.base import Claim, Exercise, Finding, Result
from handgrad.exercises.claims import statement_claim, uncheckable_claim, vjp_claim

ROUTE_MODULES = [f"test_exercises_doc00{i}" for i in range(5)]
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


# ---- coverage of the documents ----------------------------------------------------------------


def test_every_question_has_exactly_one_exercise_and_vice_versa():
    questions = [q["id"] for q in ex.questions()]
    assert len(questions) == len(set(questions)), "duplicate question ids"
    missing = [q for q in questions if q not in ex.registry()]
    assert not missing, f"questions without an exercise: {missing}"
    extra = [i for i in ex.registry() if i not in questions]
    assert not extra, f"exercises that name no question: {extra}"


def test_question_ids_name_their_document_and_every_document_is_covered():
    docs = ex.documents()
    for q in ex.questions():
        assert re.fullmatch(r"00[0-4]-[a-z0-9]+(-[a-z0-9]+)*", q["id"]), q["id"]
        assert q["id"][:3] in docs
        assert q["answered_by"] in ("official solution", "student", "problem statement", "none")
        assert q["question"].strip() and q["ref"].strip()
    assert {q["id"][:3] for q in ex.questions()} == set(docs)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are not beside the repo")
def test_every_numbered_part_of_the_seeds_is_listed():
    """The numbered parts found in the seed texts (Assignment n, Problem n, question n) each have
    at least one entry in questions.json."""
    refs = " ".join(q["ref"] for q in ex.questions())
    texts = {p.name[:3]: p.read_text(encoding="utf-8") for p in SEEDS.glob("00*.txt")}
    for doc, pattern, name in (
        ("000", r"Assignment (\d+)", "Assignment"),
        ("002", r"Assignment (\d+)", "Assignment"),
        ("003", r"Problem (\d+)\b", "Problem"),
    ):
        for n in set(re.findall(pattern, texts[doc])):
            doc_refs = " ".join(q["ref"] for q in ex.questions() if q["id"].startswith(doc))
            assert re.search(rf"{name} {n}(?!\d)", doc_refs), (doc, name, n)
    questions_004 = set(re.findall(r"^(\d)\. ", texts["004"], flags=re.M))
    refs_004 = {q["ref"].split()[1][0] for q in ex.questions() if q["id"].startswith("004")}
    assert questions_004 <= refs_004
    assert refs


def test_every_exercise_has_a_second_route_test():
    names = set()
    for mod in ROUTE_MODULES:
        names |= {n for n in dir(importlib.import_module(mod)) if n.startswith("test_")}
    missing = [i for i in ex.ids() if "test_" + i.replace("-", "_") not in names]
    assert not missing, f"exercises without a second-route test: {missing}"


# ---- check() -----------------------------------------------------------------------------------


def _exercise(claims, params=None, requires=(), value=3.0):
    return Exercise(
        "999-test",
        "q?",
        lambda **p: Result(value, context={"p": p}),
        params=params or {"n": 1},
        claims=claims,
        requires=requires,
    )


def test_value_claim_agree_disagree_and_instance_only():
    assert base.check(_exercise([Claim(3.0, "s")])).verdict == "agree"
    v = base.check(_exercise([Claim(4.0, "s")]))
    assert v.verdict == "disagree" and "computed 3, claimed 4" in v.evidence
    v = base.check(_exercise([Claim(4.0, "s")]), n=2)  # another instance: no claim applies
    assert v.verdict == "no claim" and "its own instance" in v.evidence
    assert v.claimed == 4.0  # still shown


def test_checked_claims_apply_to_any_instance_and_combine():
    ok = statement_claim("ok", lambda r, p: Finding(True, "fine"), "s", label="a")
    bad = statement_claim("bad", lambda r, p: Finding(False, "broken at 2"), "s", label="b")
    v = base.check(_exercise([ok, bad]), n=5)
    assert v.verdict == "disagree"
    assert "[a: agrees] fine" in v.evidence and "[b: DISAGREES] broken at 2" in v.evidence
    assert v.claimed == {"a": "ok", "b": "bad"}


def test_no_claim_uncheckable_unavailable_and_unknown_parameters():
    assert base.check(_exercise([])).verdict == "no claim"
    v = base.check(_exercise([uncheckable_claim("A", "student", "the figure is missing")]))
    assert v.verdict == "no claim" and "figure is missing" in v.evidence and v.claimed == "A"
    v = base.check(_exercise([], requires=("handgrad.no_such_module:thing",)))
    assert v.verdict == "unavailable" and "needs handgrad.no_such_module:thing" in v.evidence
    with pytest.raises(ValueError, match="unknown parameter.*zz"):
        base.check(_exercise([]), zz=1)


def test_compare_names_the_differing_components():
    ok, ev = base.compare([[1, 2], [3, 4]], [[1, 2], [3, 5]])
    assert not ok and "(2, 2): computed 4, claimed 5" in ev  # the documents' 1-based indices
    ok, ev = base.compare({"a": 1.0, "b": [1, 2]}, {"b": [1, 3]})
    assert not ok and ev.startswith("b: components differ (1-based) at 2")
    assert base.compare([1, 2], [1, 2, 3])[1].startswith("shape")
    assert base.compare(1.0, 1.0 + 1e-12)[0]


def test_vjp_claim_reports_the_wrong_boundary_component_one_based():
    def layer(x, a, b):
        return a * (x[:-2] + x[2:]) + b

    from handgrad.exercises.doc002 import a2_case_split

    rng = np.random.default_rng(1)
    x, g = rng.standard_normal(7), rng.standard_normal(5)
    result = Result(None, context={"fn": layer, "inputs": [x, 2.0, 0.5], "g": g})
    claim = vjp_claim(
        a2_case_split(False), "eq", "s", ["dL/dx", "dL/da", "dL/db"], one_based=True, judge=[0]
    )
    finding = claim.check(result, {})
    assert not finding.agree
    assert finding.evidence.endswith("dL/dx wrong at 1 of 7 components (1-based) 5")
    good = vjp_claim(a2_case_split(True), "eq", "s", ["dL/dx", "dL/da", "dL/db"], judge=[0])
    assert good.check(result, {}).agree


def test_json_is_plain_json():
    v = base.Verdict(
        "i",
        "q",
        {"a": np.float64(1.5), "b": np.arange(2), "c": float("inf")},
        [np.int64(3)],
        "agree",
        "",
    )
    out = json.loads(json.dumps(v.as_json(), allow_nan=False))
    assert out["computed"] == {"a": 1.5, "b": [0, 1], "c": "inf"} and out["claimed"] == [3]


def test_select_by_prefix_pattern_and_error():
    assert [e.id for e in ex.select(["004-q5"])] == [
        "004-q5a-output-count",
        "004-q5b-convolution-values",
        "004-q5c-input-gradient",
    ]
    assert all(e.id.endswith("backprop") for e in ex.select(["*-backprop"]))
    with pytest.raises(KeyError, match="no exercise matches"):
        ex.select(["nope"])


# ---- the command line and the report -----------------------------------------------------------


def test_cli_run_json(capsys):
    code = cli.main(
        ["exercises", "run", "002-a2-backprop", "003-p1a", "--format", "json", "--quiet"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [o["id"] for o in out] == ["002-a2-backprop", "003-p1a-running-limit"]
    for o in out:
        assert set(o) >= {"id", "question", "computed", "claimed", "verdict", "evidence"}
        assert o["verdict"] in ("agree", "disagree", "no claim")
    assert out[0]["verdict"] == "disagree" and isinstance(out[1]["computed"]["limit"], float)


def test_cli_set_table_and_progress(capsys):
    code = cli.main(
        ["exercises", "run", "000-a4b-receptive-field", "--set", "layers=[[3, 2, 1], [5, 1, 1]]"]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "11 x 11" in captured.out and "verdict" in captured.out.splitlines()[0]
    assert "[1/1] 000-a4b-receptive-field: no claim" in captured.err


def test_cli_markdown_and_list(capsys):
    assert cli.main(["exercises", "run", "001-q7c", "--format", "markdown", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| id | question | computed | claimed | verdict |")
    assert "**Findings**" in out and "`001-q7c-rescaled-limit` (disagree)" in out
    assert cli.main(["exercises", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(ex.questions()) and all(r["available"] for r in rows)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["run", "nope"], "no exercise matches 'nope'"),
        (["run", "002-a2", "--set", "zz=1"], "no selected exercise has a parameter zz"),
        (["run", "002-a2", "--set", "N"], "--set expects KEY=VALUE"),
        (["run", "002-a2", "--set", "g=abc", "--quiet"], "002-a2-backprop:"),
        (["run", "002-a2", "--set", "g=1,2,3", "--quiet"], "so g needs 4; got 3"),
    ],
)
def test_cli_errors_are_one_line(capsys, argv, fragment):
    code = cli.main(["exercises", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def test_docs_report_has_every_exercise_and_the_errata(tmp_path):
    from handgrad.exercises.docs import write

    chosen = [
        "002-a2-backprop",
        "002-a9-normalized-linear-backprop",
        "003-p2-bias-correction",
        "001-q3-multiple-choice",
    ]
    verdicts = ex.run(chosen)
    text = write(verdicts, tmp_path / "exercises.md").read_text()
    for i in chosen:
        assert f"### {i}" in text
    errata = text.split("## Errata")[1].split("## Document")[0]
    assert "`002-a2-backprop`" in errata and "`002-a9-normalized-linear-backprop`" in errata
    assert "`003-p2-bias-correction`" not in errata
    assert "*(reconstructed)*" in text and "**Derivation.**" in text


def test_python_dash_m_entry_point():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "handgrad.exercises", "list", "000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "000-a1-scan-backprop" in out.stdout
