"""Functions composed from the primitives of ``handgrad.ops``: they hold no derivative of their
own (their gradients come from the primitives they call). This package imports ``ops``; ``ops``
never imports it."""

from . import arrange, einsum, resample, sort, volume  # noqa: F401

# resample and volume are reached through handgrad.nn.functional (interpolate, conv3d, ...).
__all__ = [name for module in (sort, arrange, einsum) for name in module.__all__]

from .arrange import *  # noqa: F401,F403,E402
from .einsum import *  # noqa: F401,F403,E402
from .sort import *  # noqa: F401,F403,E402
