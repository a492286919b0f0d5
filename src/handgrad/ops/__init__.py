"""The primitives, grouped by meaning, and the functions built on them."""

from .elementwise import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .sort import *  # noqa: F401,F403
from .arrange import *  # noqa: F401,F403
from .einsum import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
from .scan import *  # noqa: F401,F403
from . import shape  # noqa: F401  (Tensor.__setitem__ uses its index normalisation)
from .conv import *  # noqa: F401,F403,E402
from .pool import *  # noqa: F401,F403,E402
from . import resample  # noqa: F401,E402
from .rnn_cell import *  # noqa: F401,F403,E402
