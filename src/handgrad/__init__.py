"""handgrad: a deep-learning framework on NumPy in which every gradient is derived by hand,
written next to the code, and verified.

    import handgrad as hg
    x = hg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x.cumsum(0) ** 2).sum().backward()
    x.grad
"""

from ._allocator import keep_freed_memory

keep_freed_memory()

from . import autograd, nn, ops  # noqa: F401,E402
from .autograd import (  # noqa: F401
    PRIMITIVES, Function, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad,
    set_grad_enabled,
)
from .creation import *  # noqa: F401,F403
from .dtypes import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state  # noqa: F401
from .tensor import Tensor, get_default_dtype, set_default_dtype  # noqa: F401
from .threads import get_num_threads, set_num_threads  # noqa: F401
from . import _tensor_extras  # noqa: F401,E402  (methods on Tensor)

__version__ = "0.1.0"
from .gradcheck import check_vjp, gradcheck, gradgradcheck  # noqa: F401,E402
from . import viz  # noqa: F401,E402
from .serialization import load, load_torch_state_dict, save, to_torch_state_dict  # noqa: F401,E402
from . import optim  # noqa: F401,E402
from . import metrics, models, train  # noqa: F401,E402
from . import data  # noqa: F401,E402
from . import func  # noqa: F401,E402
import importlib as _importlib  # noqa: E402

# (not `from . import linalg`: the star import of ops already bound the name to ops.linalg)
linalg = _importlib.import_module(f"{__name__}.linalg")
from . import distributions  # noqa: F401,E402
from . import jacobians as _jacobians  # noqa: E402

autograd.functional = _jacobians  # hg.autograd.functional.jacobian, as torch.autograd.functional
from . import attacks  # noqa: F401,E402
from . import calibration, cluster, manifold, sparse  # noqa: F401,E402
from . import analysis  # noqa: F401,E402
