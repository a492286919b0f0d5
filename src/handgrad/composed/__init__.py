"""Functions composed from the primitives of ``handgrad.ops``: they hold no derivative of their
own (their gradients come from the primitives they call). This package imports ``ops``; ``ops``
never imports it."""

# The modules under private names: einsum and sort are also the names of their functions, bound
# by the star imports below. resample and volume are reached through handgrad.nn.functional
# (interpolate, conv3d, ...).
from . import arrange as _arrange
from . import distance as _distance
from . import einsum as _einsum
from . import predicates as _predicates
from . import resample as _resample  # noqa: F401
from . import sort as _sort
from . import statistics as _statistics
from . import volume as _volume  # noqa: F401

__all__ = [
    name
    for module in (_sort, _arrange, _einsum, _distance, _statistics, _predicates)
    for name in module.__all__
]

from .arrange import *  # noqa: F401,F403,E402
from .distance import *  # noqa: F401,F403,E402
from .einsum import *  # noqa: F401,F403,E402
from .predicates import *  # noqa: F401,F403,E402
from .sort import *  # noqa: F401,F403,E402
from .statistics import *  # noqa: F401,F403,E402
