"""Functions composed from the primitives of ``handgrad.ops``: they hold no derivative of their own."""

from .sort import *  # noqa: F401,F403
from .arrange import *  # noqa: F401,F403
from .einsum import *  # noqa: F401,F403
from . import resample, volume  # noqa: F401  (reached through handgrad.nn.functional)
