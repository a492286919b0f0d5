"""The primitives (the derivatives), grouped by meaning, with the thin functions that call them.

Every registered ``Function`` lives in one of these modules; functions composed from them without
a derivative of their own live in ``handgrad.composed``. Modules here import only the engine
(``handgrad.autograd``, ``handgrad._tensor_base``) and each other, one way:
dims <- elementwise <- shape <- index <- reduce <- (linalg, softmax, special, scan, loss, conv
<- pool, sparse_coo, normalization, rnn_cell); ``blas`` (thread-pool control) stands alone.
"""

from . import conv, elementwise, index, linalg, loss, pool, reduce, scan, shape, softmax  # noqa: F401
from . import normalized_linear, sparse_coo, special  # noqa: F401  (normalized_linear: via nn)
from . import normalization, rnn_cell  # noqa: F401  (the fused layers of issue 13)

# Later modules win a name clash; listing the modules keeps submodule names out of ``*``.
__all__ = [
    name
    for module in (elementwise, index, linalg, reduce, shape, softmax, special, scan, conv, pool,
                   sparse_coo, rnn_cell)
    for name in module.__all__
]

from .conv import *  # noqa: F401,F403,E402
from .elementwise import *  # noqa: F401,F403,E402
from .index import *  # noqa: F401,F403,E402
from .linalg import *  # noqa: F401,F403,E402
from .pool import *  # noqa: F401,F403,E402
from .reduce import *  # noqa: F401,F403,E402
from .reduce import sum_to_size  # noqa: F401,E402  (a Tensor method, not a torch function)
from .scan import *  # noqa: F401,F403,E402
from .shape import *  # noqa: F401,F403,E402
from .softmax import *  # noqa: F401,F403,E402
from .special import *  # noqa: F401,F403,E402
from .sparse_coo import *  # noqa: F401,F403,E402
from .rnn_cell import *  # noqa: F401,F403,E402
