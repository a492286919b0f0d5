"""The derivation checker: compare gradients with central finite differences, and a learner's
hand-derived backward formula with both the engine and finite differences.

All three checks work in float64 (finite differences in float32 are too coarse to judge a
derivation) and return a report that is truthy when the check passes and says, for each input,
the largest absolute and relative error and where it occurs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import autograd
from ._tensor import Tensor
from .autograd import no_grad


@dataclass
class InputReport:
    """How one input's gradient compares with its reference."""

    index: int
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    computed: float
    reference: float
    passed: bool
    bad_indices: list = field(default_factory=list)

    def __str__(self) -> str:
        status = "ok" if self.passed else "MISMATCH"
        text = (
            f"input {self.index} {self.shape}: {status}; max abs error {self.max_abs_error:.3g}, "
            f"max rel error {self.max_rel_error:.3g} at {self.worst_index} "
            f"(computed {self.computed:.6g}, reference {self.reference:.6g})"
        )
        if self.bad_indices:
            shown = ", ".join(str(i) for i in self.bad_indices[:10])
            more = f" and {len(self.bad_indices) - 10} more" if len(self.bad_indices) > 10 else ""
            text += f"; disagreeing components: {shown}{more}"
        return text


@dataclass
class Report:
    """Result of a check: truthy when every input passes; ``str()`` explains."""

    title: str
    inputs: list[InputReport]
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"{self.title}: {'passed' if self.passed else 'FAILED'} (atol={self.atol}, rtol={self.rtol})"
        return "\n".join([head] + [f"  {r}" for r in self.inputs] + [f"  {n}" for n in self.notes])

    __repr__ = __str__


def _compare(
    i: int, computed: np.ndarray, reference: np.ndarray, atol: float, rtol: float
) -> InputReport:
    computed = np.asarray(computed, dtype=np.float64).reshape(np.shape(reference))
    reference = np.asarray(reference, dtype=np.float64)
    diff = np.abs(computed - reference)
    rel = diff / np.maximum(np.abs(reference), 1e-12)
    bad = diff > atol + rtol * np.abs(reference)
    if diff.size:
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
        comp, ref = float(computed[worst]), float(reference[worst])
        max_abs, max_rel = float(diff.max()), float(rel.max())
    else:
        worst, comp, ref, max_abs, max_rel = (), 0.0, 0.0, 0.0, 0.0
    bad_idx = [tuple(int(v) for v in ix) for ix in np.argwhere(bad)]
    return InputReport(
        i,
        reference.shape,
        max_abs,
        max_rel,
        tuple(int(v) for v in worst),
        comp,
        ref,
        not bad.any(),
        bad_idx,
    )


def _as_float64_inputs(op: str, inputs: Sequence[Any], require_float64: bool) -> list[Tensor]:
    out = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            x = Tensor._wrap(np.array(x, dtype=np.float64), False)
            x.requires_grad = True
        elif x.requires_grad and x.dtype != np.float64:
            if require_float64:
                raise ValueError(
                    f"{op}: input {i} is {x.dtype}; finite differences need float64 "
                    "(float32 rounding swamps the derivative). Pass x.double()."
                )
        out.append(x)
    return out


def _outputs(fn: Callable, inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else list(out)


def _flat_outputs(fn: Callable, inputs: Sequence[Tensor]) -> np.ndarray:
    with no_grad():
        outs = _outputs(fn, inputs)
    return np.concatenate([o._data.astype(np.float64).ravel() for o in outs])


def _numeric_jacobian(fn: Callable, inputs: list[Tensor], i: int, eps: float) -> np.ndarray:
    """J[k, j] = d out_k / d x_j by central differences, perturbing x in place."""
    x = inputs[i]._data
    flat = x.reshape(-1)  # a view for a contiguous array; we perturb through it
    if flat.size and not np.shares_memory(flat, x):
        raise ValueError("gradcheck: inputs must be contiguous arrays")
    n_out = _flat_outputs(fn, inputs).size
    jac = np.zeros((n_out, flat.size))
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        plus = _flat_outputs(fn, inputs)
        flat[j] = orig - eps
        minus = _flat_outputs(fn, inputs)
        flat[j] = orig
        jac[:, j] = (plus - minus) / (2 * eps)
    return jac


def _analytic_vjp(
    fn: Callable, inputs: list[Tensor], v: np.ndarray, create_graph: bool = False
) -> list[Tensor | None]:
    outs = _outputs(fn, inputs)
    grad_outs, start = [], 0
    for o in outs:
        n = o._data.size
        grad_outs.append(Tensor._wrap(v[start : start + n].reshape(o.shape).astype(o.dtype)))
        start += n
    diff = [t for t in inputs if t.requires_grad]
    live = [(o, g) for o, g in zip(outs, grad_outs) if o.requires_grad]
    if not live:
        return [None] * len(inputs)
    got = autograd.grad(
        [o for o, _ in live],
        diff,
        [g for _, g in live],
        create_graph=create_graph,
        allow_unused=True,
    )
    it = iter(got)
    return [next(it) if t.requires_grad else None for t in inputs]


def gradcheck(
    fn: Callable,
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast_mode: bool = False,
    seed: int = 0,
) -> Report:
    """Compare the engine's gradients of ``fn(*inputs)`` with central finite differences.

    Full mode builds both Jacobians (one backward per output element, two forwards per input
    element). ``fast_mode`` compares the scalars v^T J u for random directions u (per input) and
    v (over outputs): one backward and two forwards per input, for large inputs.
    Inputs that require grad must be float64.
    """
    inputs = _as_float64_inputs("gradcheck", inputs, True)
    rng = np.random.default_rng(seed)
    reports = []
    n_out = _flat_outputs(fn, inputs).size
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        if fast_mode:
            u = rng.standard_normal(x.shape)
            v = rng.standard_normal(n_out)
            g = _analytic_vjp(fn, inputs, v)[i]
            analytic = 0.0 if g is None else float((g._data * u).sum())
            orig = x._data.copy()
            x._data[...] = orig + eps * u
            plus = _flat_outputs(fn, inputs)
            x._data[...] = orig - eps * u
            minus = _flat_outputs(fn, inputs)
            x._data[...] = orig
            numeric = float(((plus - minus) / (2 * eps)) @ v)
            rep = _compare(i, np.array([analytic]), np.array([numeric]), atol, rtol)
            rep.shape, rep.worst_index = x.shape, ("v^T J u",)
            reports.append(rep)
            continue
        numeric = _numeric_jacobian(fn, inputs, i, eps)
        analytic = np.zeros_like(numeric)
        for k in range(n_out):
            v = np.zeros(n_out)
            v[k] = 1.0
            g = _analytic_vjp(fn, inputs, v)[i]
            if g is not None:
                analytic[k] = g._data.reshape(-1)
        reports.append(_compare(i, analytic, numeric, atol, rtol))
    mode = "fast (v^T J u)" if fast_mode else "full Jacobian"
    return Report(f"gradcheck [{mode}]", reports, atol, rtol)


def gradgradcheck(
    fn: Callable,
    inputs: Sequence[Any],
    grad_outputs: Sequence[Any] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast_mode: bool = False,
    seed: int = 0,
) -> Report:
    """Check second derivatives: gradcheck of the map (inputs, v) -> v^T J (the vector-Jacobian
    product computed with ``create_graph=True``), against finite differences of that map."""
    inputs = _as_float64_inputs("gradgradcheck", inputs, True)
    rng = np.random.default_rng(seed)
    with no_grad():
        outs = _outputs(fn, inputs)
    if grad_outputs is None:
        grad_outputs = [rng.standard_normal(o.shape) for o in outs]
    vs = []
    for g in grad_outputs:
        t = Tensor._wrap(np.array(g._data if isinstance(g, Tensor) else g, dtype=np.float64))
        t.requires_grad = True
        vs.append(t)
    n = len(inputs)

    def vjp_map(*args: Tensor) -> list[Tensor]:
        xs, gs = list(args[:n]), list(args[n:])
        diff = [t for t in xs if t.requires_grad]
        with autograd.enable_grad():  # the finite differences call this under no_grad
            outs = _outputs(fn, xs)
            grads = autograd.grad(outs, diff, gs, create_graph=True, allow_unused=True)
        # An input the vjp does not depend on contributes a constant zero.
        return [
            g if g is not None else Tensor._wrap(np.zeros(t.shape)) for g, t in zip(grads, diff)
        ]

    report = gradcheck(vjp_map, list(inputs) + vs, eps, atol, rtol, fast_mode, seed)
    report.title = "gradgradcheck" + report.title[len("gradcheck") :]
    report.notes.append(f"inputs 0..{n - 1} are fn's inputs; inputs {n}.. are grad_outputs")
    return report


def check_vjp(
    fn: Callable,
    vjp: Callable,
    inputs: Sequence[Any],
    grad_output: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    seed: int = 0,
) -> Report:
    """Check a hand-derived backward formula.

    ``fn(*tensors) -> Tensor`` is the forward computation written with handgrad operations;
    ``vjp(grad_output, *inputs) -> gradients`` is the formula under test, taking and returning
    NumPy arrays (one gradient per input; a single array if there is one input). The formula is
    compared component by component with the engine's gradient and with central finite
    differences; the report lists the indices where it disagrees.

    Example (y_i = a (x_i + x_{i+2}) + b)::

        def layer(x, a, b):
            return a * (x[:-2] + x[2:]) + b

        def formula(g, x, a, b):
            gx = np.zeros_like(x)
            gx[:-2] += a * g
            gx[2:] += a * g
            return gx, (g * (x[:-2] + x[2:])).sum(), g.sum()

        assert hg.check_vjp(layer, formula, [np.random.randn(7), 1.5, -0.3])
    """
    tensors = []
    for x in inputs:
        t = Tensor._wrap(np.array(x._data if isinstance(x, Tensor) else x, dtype=np.float64))
        t.requires_grad = True
        tensors.append(t)
    rng = np.random.default_rng(seed)
    with no_grad():
        out = fn(*tensors)
    g = (
        rng.standard_normal(out.shape)
        if grad_output is None
        else np.asarray(
            grad_output._data if isinstance(grad_output, Tensor) else grad_output, dtype=np.float64
        )
    )
    if g.shape != out.shape:
        raise ValueError(f"check_vjp: grad_output has shape {g.shape} but fn returns {out.shape}")
    user = vjp(g.copy(), *[t._data.copy() for t in tensors])
    if len(tensors) == 1 and not isinstance(user, (tuple, list)):
        user = (user,)
    if len(user) != len(tensors):
        raise ValueError(
            f"check_vjp: the formula returned {len(user)} gradients for {len(tensors)} inputs"
        )
    engine = _analytic_vjp(fn, tensors, g.reshape(-1))
    reports, notes = [], []
    for i, (t, u, e) in enumerate(zip(tensors, user, engine)):
        u = np.asarray(u._data if isinstance(u, Tensor) else u, dtype=np.float64)
        if u.shape != t.shape and u.size == t._data.size:
            u = u.reshape(t.shape)
        if u.shape != t.shape:
            raise ValueError(
                f"check_vjp: gradient {i} has shape {u.shape} but input {i} has shape {t.shape}"
            )
        numeric = _numeric_jacobian(fn, tensors, i, eps).T @ g.reshape(-1)
        ref = np.zeros(t.shape) if e is None else e._data
        engine_vs_fd = _compare(i, ref, numeric.reshape(t.shape), 1e-5, 1e-3)
        if not engine_vs_fd.passed:
            notes.append(
                f"warning: engine and finite differences disagree on input {i} "
                f"(a kink or a badly scaled input?): {engine_vs_fd}"
            )
        reports.append(_compare(i, u, ref, atol, rtol))
    return Report(
        "check_vjp (your formula vs engine, engine vs finite differences)",
        reports,
        atol,
        rtol,
        notes,
    )


class GradcheckError(RuntimeError):
    """Raised by ``autograd.gradcheck`` / ``gradgradcheck`` when a check fails (torch's)."""


def _torch_style(check: Callable, name: str) -> Callable:
    def run(
        func: Callable,
        inputs: Any,
        *,
        eps: float = 1e-6,
        atol: float = 1e-5,
        rtol: float = 1e-3,
        raise_exception: bool = True,
        fast_mode: bool = False,
        **options: Any,
    ) -> bool:
        """torch's signature: ``inputs`` a tensor or a tuple; True when the check passes, else
        GradcheckError (or False with ``raise_exception=False``). torch's other options
        (``nondet_tol``, ``check_undefined_grad``, ...) are accepted and ignored."""
        args = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        report = check(func, args, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
        if not report and raise_exception:
            raise GradcheckError(f"{name} failed:\n{report}")
        return bool(report)

    run.__name__ = run.__qualname__ = name
    return run


# torch.autograd.gradcheck / gradgradcheck (bound there by handgrad/__init__.py)
autograd_gradcheck = _torch_style(gradcheck, "gradcheck")
autograd_gradgradcheck = _torch_style(gradgradcheck, "gradgradcheck")
