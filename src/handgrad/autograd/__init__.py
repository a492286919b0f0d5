"""Automatic differentiation: the grad-mode switches, the ``Function`` base class and registry of
the primitives, and the engine that runs the backward pass.

    grad_mode   per-thread switches: no_grad, enable_grad, set_grad_enabled, inference_mode,
                detect_anomaly
    function    Function (a primitive: forward on arrays, hand-derived backward) and PRIMITIVES
    engine      run_backward and its steps; backward, grad
    functional  jacobian, hessian, vjp, jvp, hvp, vhp (imported on demand: it sits above ops)
"""

from .engine import backward, grad, run_backward
from .function import PRIMITIVES, Function
from .grad_mode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)

__all__ = [
    "PRIMITIVES",
    "Function",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "run_backward",
    "set_detect_anomaly",
    "set_grad_enabled",
]
