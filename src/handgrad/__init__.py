"""handgrad: a deep-learning framework on NumPy in which every gradient is derived by hand,
written next to the code, and verified.

    import handgrad as hg
    x = hg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x.cumsum(0) ** 2).sum().backward()
    x.grad

Importing handgrad changes nothing in the process: the allocator setting that speeds up training
is an explicit opt-in, ``handgrad.utils.keep_freed_memory()`` (applied by ``handgrad.train``, the
command line, the demo and bench/).
"""

from . import autograd, composed, linalg, nn, ops  # noqa: F401  # noqa: F401
from ._tensor import *  # noqa: F401,F403
from .autograd import (  # noqa: F401
    PRIMITIVES,
    Function,
    detect_anomaly,
    enable_grad,
    grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd import functional as _autograd_functional  # noqa: F401  (hg.autograd.functional)
from .composed import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .device import device  # noqa: F401
from .dtypes import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state  # noqa: F401

__version__ = "0.1.0"
from . import (  # noqa: F401,E402  # noqa: F401,E402
    analysis,  # noqa: F401,E402
    attacks,  # noqa: F401,E402
    calibration,
    cluster,
    data,  # noqa: F401,E402
    distributions,  # noqa: F401,E402
    func,  # noqa: F401,E402
    manifold,
    metrics,
    models,
    optim,  # noqa: F401,E402
    sparse,
    train,
    utils,
    viz,  # noqa: F401,E402
)
from .gradcheck import check_vjp, gradcheck, gradgradcheck  # noqa: F401,E402
from .serialization import load, load_torch_state_dict, save, to_torch_state_dict  # noqa: F401,E402
