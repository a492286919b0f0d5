"""A small, safe evaluator for the formulas of answer files.

An answer file is data written by someone else, so its formulas are never given to ``eval``.
``parse(text, variables)`` reads the text with Python's ``ast`` and accepts only a whitelist:

- numbers (``2``, ``0.5``, ``1e-3``), the names of the exercise's variables, ``pi``, ``e``, ``inf``;
- arithmetic ``+ - * / // % ** @`` (``^`` is read as ``**``, a power, as on
  paper), unary ``-``/``+``;
- comparisons ``< <= > >= == !=`` (to build masks: ``where(j <= 2, ..., ...)``), ``and``/``or``/
  ``not`` and ``A if C else B``;
- indexing and slicing (``x[:-2]``, ``w[i, :]``, ``x[:, None]``), lists ``[1, 0.1, 0.01]`` (read
  as arrays);
- calls of the functions in ``FUNCTIONS`` (NumPy's, under their NumPy names, optionally written
  ``np.sum`` or ``np.linalg.norm``) and of the array methods and attributes in ``METHODS``
  (``x.T``, ``g.sum()``), with keyword arguments in ``KEYWORDS``.

Everything else (other names, dunder or other attributes, lambdas, comprehensions, strings,
f-strings, assignments, starred arguments, imports) is refused by ``parse`` with a
``FormulaError`` naming the construct and its column, before anything runs. Evaluation walks the
checked tree itself; numbers are floats (so ``10**10**10`` is ``inf``, not a huge integer), and an
array larger than ``MAX_SIZE`` elements is refused before it is allocated.

An *equation* ``lhs = rhs`` (one ``=``) is parsed by ``parse_line`` into its two sides.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_SIZE = 10**6  # elements: a formula that builds a larger array is refused


class FormulaError(ValueError):
    """A formula that cannot be parsed, uses something outside the whitelist, or fails when
    evaluated (wrong shapes, unknown variable)."""


def _sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(
        x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))
    )


def _softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _checked_size(fn: Callable) -> Callable:
    """``fn(shape, ...)`` refusing shapes larger than MAX_SIZE before allocating."""

    def make(shape, *args, **kwargs):
        dims = np.atleast_1d(np.asarray(shape, dtype=np.float64))
        if not np.all(np.isfinite(dims)) or float(np.prod(np.maximum(dims, 0))) > MAX_SIZE:
            raise FormulaError(f"{fn.__name__}: shape {shape} is larger than {MAX_SIZE} elements")
        return fn(tuple(int(d) for d in dims), *args, **kwargs)

    make.__name__ = fn.__name__
    return make


def _arange(*args):
    vals = [float(a) for a in args]
    start, stop, step = (0.0, vals[0], 1.0) if len(vals) == 1 else (vals + [1.0])[:3]
    if (
        step == 0
        or not all(math.isfinite(v) for v in (start, stop, step))
        or (stop - start) / step > MAX_SIZE
    ):
        raise FormulaError(f"arange{tuple(args)}: more than {MAX_SIZE} elements or a zero step")
    return np.arange(start, stop, step)


def _eye(n, m=None):
    if float(n) * float(n if m is None else m) > MAX_SIZE:
        raise FormulaError(f"eye({n}): larger than {MAX_SIZE} elements")
    return np.eye(int(n), None if m is None else int(m))


def _int_or_float(x):
    return int(x) if float(x) == int(x) else x


#: name -> function (NumPy's semantics); ``np.NAME`` and ``np.linalg.NAME`` map here too
FUNCTIONS: dict[str, Callable] = {
    **{
        n: getattr(np, n)
        for n in (
            "abs",
            "sqrt",
            "exp",
            "log",
            "log1p",
            "expm1",
            "log2",
            "log10",
            "sin",
            "cos",
            "tan",
            "arcsin",
            "arccos",
            "arctan",
            "arctan2",
            "sinh",
            "cosh",
            "tanh",
            "sign",
            "maximum",
            "minimum",
            "where",
            "sum",
            "prod",
            "mean",
            "var",
            "std",
            "max",
            "min",
            "amax",
            "amin",
            "argmax",
            "argmin",
            "cumsum",
            "cumprod",
            "dot",
            "inner",
            "matmul",
            "transpose",
            "diag",
            "trace",
            "concatenate",
            "stack",
            "hstack",
            "vstack",
            "clip",
            "floor",
            "ceil",
            "round",
            "square",
            "reshape",
            "flip",
            "roll",
            "zeros_like",
            "ones_like",
            "full_like",
            "isclose",
            "heaviside",
            "tril",
            "triu",
            "array",
            "asarray",
            "all",
            "any",
            "logical_and",
            "logical_or",
            "logical_not",
            "exp2",
            "diff",
            "sort",
            "take",
            "atleast_1d",
            "atleast_2d",
        )
    },
    "zeros": _checked_size(np.zeros),
    "ones": _checked_size(np.ones),
    "arange": _arange,
    "eye": _eye,
    "len": len,
    "float": float,
    "int": int,
    "norm": np.linalg.norm,
    "inv": np.linalg.inv,
    "det": np.linalg.det,
    "solve": np.linalg.solve,
    "pinv": np.linalg.pinv,
    "eigvalsh": np.linalg.eigvalsh,
    "sigmoid": _sigmoid,
    "logit": lambda p: np.log(p) - np.log1p(-np.asarray(p, float)),
    "relu": lambda x: np.maximum(x, 0.0),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
}
_LINALG = {"norm", "inv", "det", "solve", "pinv", "eigvalsh"}

CONSTANTS = {
    "pi": math.pi,
    "e": math.e,
    "inf": math.inf,
    "nan": math.nan,
    "True": True,
    "False": False,
}

#: attributes and methods of values that a formula may use
METHODS = {
    "T",
    "shape",
    "ndim",
    "size",
    "sum",
    "mean",
    "max",
    "min",
    "prod",
    "cumsum",
    "reshape",
    "dot",
    "transpose",
    "ravel",
    "flatten",
    "argmax",
    "argmin",
    "var",
    "std",
    "copy",
    "all",
    "any",
    "clip",
    "round",
    "trace",
    "diagonal",
    "squeeze",
}

KEYWORDS = {
    "axis",
    "axes",
    "keepdims",
    "ord",
    "k",
    "ddof",
    "initial",
    "a_min",
    "a_max",
    "n",
    "shift",
    "decimals",
}

_BINOPS = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.mod,
    ast.Pow: np.power,
    ast.BitXor: np.power,
    ast.MatMult: np.matmul,
}
_CMPOPS = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}


@dataclass
class Formula:
    """A checked formula: ``text``, its tree, and the variables it uses. Call it with the values
    of the variables: ``f(**values)``."""

    text: str
    tree: ast.Expression
    names: frozenset

    def __call__(self, **values: Any) -> Any:
        missing = sorted(self.names - set(values))
        if missing:
            raise FormulaError(f"{self.text!r}: no value for {', '.join(missing)}")
        try:
            with np.errstate(all="ignore"):
                return _Evaluator(values, self.text).visit(self.tree.body)
        except FormulaError:
            raise
        except (
            ValueError,
            TypeError,
            IndexError,
            ZeroDivisionError,
            OverflowError,
            np.linalg.LinAlgError,
            MemoryError,
        ) as e:
            raise FormulaError(
                f"{self.text!r} fails on this instance: {type(e).__name__}: {e}"
            ) from None


def _where(node: ast.AST, text: str) -> str:
    col = getattr(node, "col_offset", None)
    return f" (column {col + 1} of {text!r})" if col is not None else f" (in {text!r})"


def parse(text: Any, variables: Iterable[str]) -> Formula:
    """Check ``text`` against the whitelist (module docstring) with ``variables`` as the only
    free names; return a callable ``Formula``. Raises ``FormulaError`` for anything else."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = repr(float(text))
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__} {text!r}")
    if len(text) > 2000:
        raise FormulaError("a formula longer than 2000 characters is refused")
    variables = set(variables)
    text = text.replace("^", "**")  # a power, as on paper (Python's ^ is xor, and binds looser)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise FormulaError(f"syntax error{where} in {text.strip()!r}: {e.msg}") from None
    names: set[str] = set()
    _check(tree.body, variables, names, text.strip())
    return Formula(text.strip(), tree, frozenset(names))


_ALLOWED = (
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BoolOp,
    ast.IfExp,
    ast.Constant,
    ast.Name,
    ast.Call,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.keyword,
    ast.Load,
)


def _check(node: ast.AST, variables: set, names: set, text: str) -> None:
    if not isinstance(node, _ALLOWED) and not isinstance(
        node, (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
    ):
        kind = {
            ast.Lambda: "a lambda",
            ast.ListComp: "a comprehension",
            ast.GeneratorExp: "a comprehension",
            ast.DictComp: "a comprehension",
            ast.SetComp: "a comprehension",
            ast.NamedExpr: "an assignment (:=)",
            ast.JoinedStr: "an f-string",
            ast.Starred: "a starred argument",
            ast.Dict: "a dict",
            ast.Set: "a set",
            ast.Await: "await",
            ast.Yield: "yield",
        }.get(type(node), type(node).__name__)
        raise FormulaError(f"{kind} is not allowed in a formula{_where(node, text)}")
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINOPS:
        raise FormulaError(f"operator {type(node.op).__name__} is not allowed{_where(node, text)}")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        raise FormulaError(f"operator {type(node.op).__name__} is not allowed{_where(node, text)}")
    if isinstance(node, ast.Compare) and any(type(op) not in _CMPOPS for op in node.ops):
        raise FormulaError(f"'is' and 'in' are not allowed{_where(node, text)}")
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, (str, bytes))
        or node.value is Ellipsis
        or isinstance(node.value, complex)
    ):
        raise FormulaError(
            f"constant {node.value!r} is not allowed (numbers only){_where(node, text)}"
        )
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise FormulaError(f"name {node.id!r} is not allowed{_where(node, text)}")
        if node.id in variables:
            names.add(node.id)
        elif node.id not in CONSTANTS and node.id not in FUNCTIONS:
            known = ", ".join(sorted(variables)) or "none"
            raise FormulaError(
                f"unknown name {node.id!r}{_where(node, text)}; the variables are "
                f"{known}, plus pi, e and the NumPy functions of the whitelist"
            )
    if isinstance(node, ast.Attribute):
        if _np_path(node) is None:
            if node.attr.startswith("_") or node.attr not in METHODS:
                raise FormulaError(
                    f"attribute {node.attr!r} is not allowed{_where(node, text)} "
                    f"(allowed: np.FUNCTION and {', '.join(sorted(METHODS))})"
                )
            _check(node.value, variables, names, text)
        return
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            if node.func.id not in FUNCTIONS or node.func.id in variables:
                raise FormulaError(
                    f"call of {node.func.id!r} is not allowed{_where(node, text)}"
                    " (only the whitelisted NumPy functions)"
                )
        elif isinstance(node.func, ast.Attribute):
            if _np_path(node.func) is None and node.func.attr not in METHODS:
                raise FormulaError(
                    f"call of {ast.unparse(node.func)!r} is not allowed{_where(node, text)}"
                )
            if _np_path(node.func) is None:
                _check(node.func.value, variables, names, text)
        else:
            raise FormulaError(
                f"call of {ast.unparse(node.func)!r} is not allowed{_where(node, text)}"
            )
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in KEYWORDS:
                raise FormulaError(f"keyword {kw.arg or '**'!r} is not allowed{_where(node, text)}")
            _check(kw.value, variables, names, text)
        for a in node.args:
            _check(a, variables, names, text)
        return
    for child in ast.iter_child_nodes(node):
        _check(child, variables, names, text)


def _np_path(node: ast.Attribute) -> str | None:
    """``np.sum`` -> 'sum', ``np.linalg.norm`` -> 'norm' (when whitelisted), else None."""
    if (
        isinstance(node.value, ast.Name)
        and node.value.id in ("np", "numpy")
        and node.attr in FUNCTIONS
        and node.attr not in _LINALG
    ):
        return node.attr
    if (
        isinstance(node.value, ast.Attribute)
        and node.value.attr == "linalg"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id in ("np", "numpy")
        and node.attr in _LINALG
    ):
        return node.attr
    if (
        isinstance(node.value, ast.Name)
        and node.value.id in ("np", "numpy")
        and node.attr in ("pi", "e", "inf")
    ):
        return node.attr
    return None


class _Evaluator:
    def __init__(self, values: dict, text: str):
        self.values = values
        self.text = text

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__)
        out = method(node)
        if isinstance(out, np.ndarray) and out.size > MAX_SIZE:
            raise FormulaError(f"{self.text!r} builds an array of {out.size} elements")
        return out

    def visit_Constant(self, node):
        v = node.value
        return v if isinstance(v, bool) or v is None else float(v)

    def visit_Name(self, node):
        if node.id in self.values:
            return self.values[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise FormulaError(f"{node.id!r} is a function, not a value{_where(node, self.text)}")

    def visit_List(self, node):
        items = [self.visit(e) for e in node.elts]
        try:  # numbers, or rows of equal length: an array
            return np.array(items, dtype=np.float64)
        except ValueError:  # arrays of different lengths: a list (for concatenate, stack)
            return items

    def visit_Tuple(self, node):
        return tuple(self.visit(e) for e in node.elts)

    def visit_BinOp(self, node):
        a, b = self.visit(node.left), self.visit(node.right)
        op = _BINOPS[type(node.op)]
        _refuse_large(a, b, op is np.matmul, self.text)
        if op is np.power:
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if op is np.matmul:
            try:
                return np.matmul(a, b)
            except ValueError:
                raise FormulaError(
                    f"{self.text!r}: '@' of shapes {np.shape(a)} and "
                    f"{np.shape(b)} does not match (at "
                    f"{ast.unparse(node)!r})"
                ) from None
        return op(a, b)

    def visit_UnaryOp(self, node):
        v = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return np.negative(v)
        if isinstance(node.op, ast.UAdd):
            return v
        return np.logical_not(v)

    def visit_Compare(self, node):
        left = self.visit(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            r = _CMPOPS[type(op)](left, right)
            result = r if result is None else np.logical_and(result, r)
            left = right
        return result

    def visit_BoolOp(self, node):
        vals = [self.visit(v) for v in node.values]
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = vals[0]
        for v in vals[1:]:
            out = fn(out, v)
        return out

    def visit_IfExp(self, node):
        cond = self.visit(node.test)
        if np.ndim(cond) == 0:
            return self.visit(node.body) if bool(cond) else self.visit(node.orelse)
        return np.where(cond, self.visit(node.body), self.visit(node.orelse))

    def visit_Subscript(self, node):
        base = self.visit(node.value)
        index = self.visit(node.slice)
        if isinstance(index, tuple):
            index = tuple(_int_or_index(i) for i in index)
        else:
            index = _int_or_index(index)
        return np.asarray(base)[index]

    def visit_Slice(self, node):
        parts = [
            None if p is None else _int_or_float(float(self.visit(p)))
            for p in (node.lower, node.upper, node.step)
        ]
        return slice(*parts)

    def visit_Attribute(self, node):
        path = _np_path(node)
        if path is not None:
            return FUNCTIONS[path] if path in FUNCTIONS else CONSTANTS[path]
        value = np.asarray(self.visit(node.value))
        return getattr(value, node.attr)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name):
            fn = FUNCTIONS[node.func.id]
        else:
            fn = self.visit_Attribute(node.func)
        # numbers are read as floats; a whole one passed as an argument (an axis, a shape, a
        # count) is given as an int, which NumPy's arithmetic treats the same
        args = [_int_scalar(self.visit(a)) for a in node.args]
        kwargs = {kw.arg: _int_or_index(self.visit(kw.value)) for kw in node.keywords}
        if fn in (np.reshape, np.roll, np.take, np.diag, np.tril, np.triu):
            args = [args[0]] + [_int_or_index(a) for a in args[1:]]
        return fn(*args, **kwargs)


def _refuse_large(a: Any, b: Any, matmul: bool, text: str) -> None:
    """Refuse, before computing it, a result of more than MAX_SIZE elements (an outer product
    by broadcasting or by ``@``)."""
    sa, sb = np.shape(a), np.shape(b)
    try:
        if matmul and len(sa) >= 1 and len(sb) >= 1:
            size = float(np.prod(sa[:-1] or (1,))) * float(
                np.prod(sb[-1:] if len(sb) > 1 else (1,))
            )
        else:
            size = float(np.prod(np.broadcast_shapes(sa, sb) or (1,)))
    except ValueError:
        return  # incompatible shapes: NumPy's own error names them
    if size > MAX_SIZE:
        raise FormulaError(
            f"{text!r} would build an array of {int(size)} elements (limit {MAX_SIZE})"
        )


def _int_scalar(v: Any) -> Any:
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    return v


def _int_or_index(i: Any) -> Any:
    """Float constants used as indices (formulas read numbers as floats) become integers."""
    if isinstance(i, (float, np.floating)) and float(i) == int(i):
        return int(i)
    if isinstance(i, tuple):
        return tuple(_int_or_index(v) for v in i)
    if isinstance(i, np.ndarray) and i.dtype.kind == "f":
        if np.all(i == np.round(i)):
            return i.astype(np.int64)
    return i


# ---- lines: expressions, equations, relations ----------------------------------------------

_RELATION = re.compile(r"^\s*(<=|>=|==|=|<|>|≤|≥)\s*")
_SINGLE_EQ = re.compile(r"(?<![=<>!])=(?!=)")


@dataclass
class Line:
    """One line of a derivation: ``relation`` to the previous line ('=', '<=', '>=', '<', '>'),
    and either an expression (``rhs`` None) or an equation ``lhs = rhs``."""

    text: str
    relation: str
    lhs: Formula
    rhs: Formula | None = None

    @property
    def is_equation(self) -> bool:
        return self.rhs is not None


def parse_line(text: Any, variables: Iterable[str]) -> Line:
    """A derivation line: an expression (``2*(1 - x @ theta)*x``), an equation
    (``2*x = 2*theta*s``), optionally led by its relation to the line before (``= ...``,
    ``<= ...``). Raises ``FormulaError``."""
    if not isinstance(text, str):
        raise FormulaError(f"a derivation line must be a string, got {text!r}")
    raw = text.strip()
    relation = "="
    m = _RELATION.match(raw)
    if m:
        relation = {"==": "=", "≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
        raw = raw[m.end() :]
    variables = list(variables)
    parts = _SINGLE_EQ.split(raw)
    if len(parts) > 2:
        raise FormulaError(f"{text.strip()!r}: a line holds at most one '='")
    if len(parts) == 2:
        return Line(text.strip(), relation, parse(parts[0], variables), parse(parts[1], variables))
    return Line(text.strip(), relation, parse(raw, variables))
