"""The primitives (the derivatives), grouped by meaning, with the thin functions that call them.

Every registered ``Function`` lives in one of these modules; functions composed from them without
a derivative of their own live in ``handgrad.composed``. Modules here import only the engine
(``handgrad.autograd``, ``handgrad._tensor_base``) and each other, one way:
dims <- elementwise <- shape <- index <- reduce <- (linalg, softmax <- attention, special, scan,
loss, conv <- pool, sparse_coo, normalization, rnn_cell); ``blas`` (thread-pool control) stands
alone.
"""

# The modules under private names: a module and its function of the same name (``softmax``)
# would otherwise be one name bound twice; ``from .softmax import *`` below binds the function.
from . import attention as _attention  # noqa: F401  (the fused attention of issue 13)
from . import conv as _conv
from . import elementwise as _elementwise
from . import index as _index
from . import linalg as _linalg
from . import loss as _loss  # noqa: F401
from . import normalization as _normalization  # noqa: F401  (the fused layers of issue 13)
from . import normalized_linear as _normalized_linear  # noqa: F401  (reached via nn)
from . import pool as _pool
from . import reduce as _reduce
from . import rnn_cell as _rnn_cell
from . import scan as _scan
from . import shape as _shape
from . import softmax as _softmax
from . import sparse_coo as _sparse_coo
from . import special as _special

# Later modules win a name clash; listing the modules keeps submodule names out of ``*``.
__all__ = [
    name
    for module in (
        _elementwise,
        _index,
        _linalg,
        _reduce,
        _shape,
        _softmax,
        _special,
        _scan,
        _conv,
        _pool,
        _sparse_coo,
        _rnn_cell,
    )
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
