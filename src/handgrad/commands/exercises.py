"""``handgrad exercises``: list, run and document the problem sets' exercises.

    handgrad exercises list [PATTERN ...] [--format table|markdown|json]
    handgrad exercises run [ID ...] [--set KEY=VALUE ...] [--format table|markdown|json] [--quiet]
    handgrad exercises docs [--output docs/exercises.md]
    handgrad exercises template DOC|ID ... [--output FILE]   an answer file to fill in
    handgrad exercises grade ANSWERS [--set KEY=VALUE ...] [--format table|markdown|json]

``--explain`` (run) prints the full question, the derivation, the answer in words and the notes.
``--extra MODULE`` (any action; repeatable) loads a teacher's own exercises from a Python module
or a ``.py`` file (see docs/answers.md).

An ID may be an exact id, a prefix (``002``, ``004-q5``) or a shell pattern (``*-backprop``).
``--set`` values are read as JSON when they parse (numbers, lists, ``null``), else as strings,
and go to every selected exercise that has that parameter (``g=1,2,3,4`` is the list
[1, 2, 3, 4]). Progress goes to stderr; the table, markdown or JSON to stdout. Disagreements are
findings about the documents, so they do not change the exit status of ``run``; an exercise that
raises or whose own check fails does (status 1). ``grade`` exits with 0 when every judged slot
passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from typing import Any

from .common import CommandError

FORMATS = ("table", "markdown", "json")
FAILING = ("error", "check failed")  # verdicts that make the command exit with status 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    p = sub.add_parser("list", help="the exercises: id, source, who answers, question")
    p.add_argument("patterns", nargs="*", metavar="PATTERN")
    p.add_argument("--format", choices=FORMATS, default="table")
    p = sub.add_parser("run", help="solve the exercises and judge the documents' answers")
    p.add_argument(
        "patterns", nargs="*", metavar="ID", help="ids, prefixes or patterns (default: all)"
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter of the instance (repeatable)",
    )
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--explain",
        action="store_true",
        help="print the full question, the "
        "derivation, the answer in words and the notes of each exercise",
    )
    _extra(p)
    p = sub.add_parser("docs", help="run everything and write docs/exercises.md")
    p.add_argument("--output", default="docs/exercises.md", help="default: docs/exercises.md")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p = sub.add_parser("template", help="write an answer file to fill in")
    p.add_argument(
        "patterns", nargs="+", metavar="DOC|ID", help="documents (001), ids, prefixes or patterns"
    )
    p.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    p.add_argument("--name", default="", help="whose answers (written into the file)")
    _extra(p)
    p = sub.add_parser("grade", help="grade a filled-in answer file")
    p.add_argument("answers", metavar="ANSWERS", help="the answer file (JSON)")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter of the instance (repeatable)",
    )
    p.add_argument("--format", choices=FORMATS, default="table")
    _extra(p)


def _extra(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="MODULE",
        help="load a teacher's exercises from a module or .py file (repeatable)",
    )


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``['n=10', 'layers=[[3,1,1]]', 'rho=l^2/2']`` -> {'n': 10, 'layers': [[3, 1, 1]], ...}."""
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            try:  # 'g=1,2,3,4': a list of numbers
                out[key.strip()] = json.loads("[" + text + "]") if "," in text else text
            except json.JSONDecodeError:
                out[key.strip()] = text
    return out


def run(args: argparse.Namespace) -> int:
    for module in getattr(args, "extra", []) or []:
        from ..exercises.extra import load_extra

        try:
            load_extra(module)
        except (ImportError, OSError, ValueError, KeyError) as e:
            raise CommandError(f"--extra {module}: {e}") from None
    if args.action == "list":
        return _list(args)
    if args.action == "template":
        return _template(args)
    if args.action == "grade":
        return _grade(args)
    if args.action == "docs":
        from pathlib import Path

        from ..exercises.docs import write, write_answers_report

        verdicts = _run(None, {}, args.quiet, True)
        path = write(verdicts, args.output)
        graded = write_answers_report(Path(args.output).with_name("answers_001.md"))
        print(f"wrote {graded}: the 001 answer file, graded")
        n_dis = sum(v.verdict == "disagree" for v in verdicts)
        print(f"wrote {path}: {len(verdicts)} exercises, {n_dis} with disagreements")
        return 1 if any(v.verdict in FAILING for v in verdicts) else 0
    verdicts = _run(args.patterns, parse_settings(args.settings), args.quiet, args.format != "json")
    print(render(verdicts, args.format, explain=args.explain))
    return 1 if any(v.verdict in FAILING for v in verdicts) else 0


def _template(args: argparse.Namespace) -> int:
    from ..exercises import answers, select

    try:
        chosen = select(args.patterns)
    except KeyError as e:
        raise CommandError(e.args[0]) from None
    text = json.dumps(answers.template(chosen, args.name), indent=2, allow_nan=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from pathlib import Path

        Path(args.output).write_text(text, encoding="utf-8")
        n = sum(len(e["slots"]) for e in answers.template(chosen)["exercises"].values())
        print(f"wrote {args.output}: {len(chosen)} exercises, {n} answer slots")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from ..exercises import answers

    try:
        data = answers.load(args.answers)
    except answers.AnswerFileError as e:
        raise CommandError(str(e)) from None
    g = answers.grade(data, parse_settings(args.settings))
    print(answers.report(g, args.format))
    return 0 if g.passed else 1


def _run(patterns, settings, quiet: bool, _human: bool) -> list:
    from ..exercises import base, check, select

    try:
        chosen = select(patterns)
    except KeyError as e:
        raise CommandError(e.args[0]) from None
    unused = [k for k in settings if not any(k in ex.params for ex in chosen)]
    if unused:
        raise CommandError(f"no selected exercise has a parameter {', '.join(unused)}")
    err = sys.stderr
    tty = hasattr(err, "isatty") and err.isatty()
    old = base.set_progress(base.tty_progress(err) if tty and not quiet else None)
    verdicts = []
    start = time.perf_counter()
    try:
        for i, ex in enumerate(chosen, 1):
            overrides = {k: v for k, v in settings.items() if k in ex.params}
            t0 = time.perf_counter()
            try:
                v = check(ex, **overrides)
            except (ValueError, TypeError) as e:
                if overrides:  # most likely a bad --set value: a usage error
                    raise CommandError(f"{ex.id}: {e}") from None
                v = _errored(ex, e)
            except Exception as e:  # noqa: BLE001  (an exercise's bug is reported, not fatal)
                v = _errored(ex, e)
            v.seconds = time.perf_counter() - t0
            verdicts.append(v)
            if not quiet:
                line = (
                    f"[{i:>{len(str(len(chosen)))}}/{len(chosen)}] {ex.id}: {v.verdict} "
                    f"({v.seconds:.2f} s)"
                )
                err.write(("\r\033[K" if tty else "") + line + "\n")
                err.flush()
    finally:
        base.set_progress(old)
    if not quiet:
        err.write(f"{len(verdicts)} exercises in {time.perf_counter() - start:.1f} s\n")
    return verdicts


def _errored(ex, e: Exception):
    from ..exercises.base import Verdict

    return Verdict(
        ex.id,
        ex.question,
        None,
        None,
        "error",
        f"{type(e).__name__}: {e}",
        summary="error",
        params=dict(ex.params),
    )


# ---- rendering ------------------------------------------------------------------------------


def jsonable(value):
    from ..exercises.base import jsonable as _jsonable

    return _jsonable(value)


def render(verdicts: list, fmt: str, explain: bool = False) -> str:
    if fmt == "json":
        return json.dumps([v.as_json() for v in verdicts], indent=2, allow_nan=False)
    if fmt == "markdown":
        return render_markdown(verdicts) + (
            "\n\n" + render_explanations(verdicts, True) if explain else ""
        )
    return render_table(verdicts) + ("\n\n" + render_explanations(verdicts) if explain else "")


def render_explanations(verdicts: list, markdown: bool = False) -> str:
    """For each exercise: the full question (marked when reconstructed), the derivation, the
    answer in words, the notes, the verdict per part and its evidence; wrapped, never cut."""
    out = []
    for v in verdicts:
        e = v.explanation or {}
        tag = " (reconstructed question: not in the document)" if v.reconstructed else ""
        out.append(f"{'### ' if markdown else '== '}{v.id}{tag}")
        sections = [
            ("Question", e.get("question_full") or v.question),
            ("Source", e.get("source", "")),
            ("Instance", ", ".join(f"{k}={json.dumps(jsonable(x))}" for k, x in v.params.items())),
            ("Derivation", e.get("derivation_text", "")),
            ("Answer", e.get("answer_in_words", "")),
            ("Computed", v.summary),
            ("Note", e.get("note", "")),
            ("Notes", "; ".join(v.notes)),
            (
                "Verdict",
                f"{v.verdict} (final answer: "
                f"{v.parts.get('final answer', 'no claim')}, derivation: "
                f"{v.parts.get('derivation', 'no claim')})",
            ),
            ("Evidence", v.evidence),
        ]
        for title, text in sections:
            if not text:
                continue
            if title == "Derivation":
                out.append(f"{title}:")
                out += [("    " + line) for line in str(text).splitlines()]
            else:
                out += textwrap.wrap(
                    f"{title}: {' '.join(str(text).split())}", 100, subsequent_indent="    "
                )
        out.append("")
    return "\n".join(out).rstrip()


def render_table(verdicts: list) -> str:
    """The table, each cell wrapped in its column (never cut), then the findings."""
    cols = [("id", 34), ("question", 40), ("computed", 44), ("claimed", 30), ("verdict", 14)]
    rows = [
        [
            v.id + (" (reconstructed)" if v.reconstructed else ""),
            v.question,
            v.summary,
            v.claimed_summary,
            v.verdict,
        ]
        for v in verdicts
    ]
    widths = [
        min(w, max([len(h)] + [len(" ".join(str(r[i]).split())) for r in rows]))
        for i, (h, w) in enumerate(cols)
    ]
    line = "  ".join(h.ljust(w) for (h, _), w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        cells = [
            textwrap.wrap(" ".join(str(c).split()), w, break_long_words=True) or [""]
            for c, w in zip(r, widths)
        ]
        for k in range(max(len(c) for c in cells)):
            out.append(
                "  ".join(
                    (c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths)
                ).rstrip()
            )
    notes = [
        v for v in verdicts if v.verdict in ("disagree", "error", "unavailable", "check failed")
    ]
    if notes:
        out += ["", "Findings:"]
        for v in notes:
            body = textwrap.fill(
                v.disagreements(), 100, initial_indent="    ", subsequent_indent="    "
            )
            out += [f"  {v.id} ({v.verdict}):", body]
    counts = _counts(verdicts)
    out += ["", ", ".join(f"{n} {k}" for k, n in counts.items())]
    return "\n".join(out)


def _md(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(verdicts: list) -> str:
    out = ["| id | question | computed | claimed | verdict |", "|---|---|---|---|---|"]
    for v in verdicts:
        out.append(
            f"| `{v.id}` | {_md(v.question)} | {_md(v.summary)} | "
            f"{_md(v.claimed_summary)} | {v.verdict} |"
        )
    notes = [
        v for v in verdicts if v.verdict in ("disagree", "error", "unavailable", "check failed")
    ]
    if notes:
        out += ["", "**Findings**", ""]
        out += [f"- `{v.id}` ({v.verdict}): {_md(v.disagreements())}" for v in notes]
    return "\n".join(out)


def _counts(verdicts: list) -> dict:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    return counts


def _list(args: argparse.Namespace) -> int:
    from ..exercises import question, select

    try:
        chosen = select(args.patterns)
    except KeyError as e:
        raise CommandError(e.args[0]) from None
    rows = []
    for ex in chosen:
        q = question(ex.id)
        missing = ex.missing()
        rows.append(
            {
                "id": ex.id,
                "source": q["ref"],
                "answered_by": q["answered_by"],
                "question": ex.question,
                "reconstructed": bool(q.get("reconstructed")),
                "parameters": sorted(ex.params),
                "available": not missing,
                "requires": list(ex.requires),
            }
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "markdown":
        print("| id | source | answered by | question |\n|---|---|---|---|")
        for r in rows:
            print(
                f"| `{r['id']}` | {_md(r['source'])} | {r['answered_by']} | {_md(r['question'])} |"
            )
    else:
        for r in rows:  # the question wrapped under its id, never cut
            needs = ", ".join(r["requires"])
            flag = "" if r["available"] else f"  [unavailable: needs {needs}]"
            tag = " (reconstructed)" if r["reconstructed"] else ""
            print(f"{r['id']}  [{r['source']}]{tag}{flag}")
            print(
                textwrap.fill(
                    " ".join(r["question"].split()),
                    100,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
            )
        print(f"\n{len(rows)} exercises")
    return 0
