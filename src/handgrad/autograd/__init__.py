"""The backward pass (see ``engine``) and, in ``functional``, whole derivative objects."""

from .engine import *  # noqa: F401,F403
from .engine import PRIMITIVES, Function, backward, detect_anomaly, enable_grad, grad  # noqa: F401
from .engine import is_grad_enabled, no_grad, run_backward, set_grad_enabled  # noqa: F401
