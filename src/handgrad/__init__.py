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

from . import autograd, ops, composed  # noqa: F401
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
from ._tensor import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .device import device  # noqa: F401
from .dtypes import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from .composed import *  # noqa: F401,F403
from .random import (  # noqa: F401
    Generator,
    bernoulli,
    get_rng_state,
    manual_seed,
    seed,
    set_rng_state,
)
from . import linalg, nn  # noqa: F401
from .autograd import functional as _autograd_functional  # noqa: F401  (hg.autograd.functional)
from .threads import get_num_threads, set_num_threads  # noqa: F401

__version__ = "0.1.0"
from .gradcheck import check_vjp, gradcheck, gradgradcheck  # noqa: F401,E402
from .gradcheck import autograd_gradcheck as _autograd_gradcheck  # noqa: E402
from .gradcheck import autograd_gradgradcheck as _autograd_gradgradcheck  # noqa: E402
from .autograd import custom_function as _custom_function  # noqa: E402

# torch's names under torch.autograd that sit above the engine core, bound here (the public face):
# autograd.Function is torch's custom-function base (a primitive subclasses
# autograd.function.Function, which stays the primitives' base), and gradcheck / gradgradcheck
# with torch's signature and return value.
autograd.Function = _custom_function.Function  # type: ignore[misc]
autograd.FunctionCtx = _custom_function.FunctionCtx  # type: ignore[attr-defined]
autograd.function.once_differentiable = _custom_function.once_differentiable  # type: ignore[attr-defined]
autograd.function.FunctionCtx = _custom_function.FunctionCtx  # type: ignore[attr-defined]
autograd.gradcheck = _autograd_gradcheck  # type: ignore[attr-defined]
autograd.gradgradcheck = _autograd_gradgradcheck  # type: ignore[attr-defined]
from . import viz  # noqa: F401,E402
from .serialization import load, load_torch_state_dict, save, to_torch_state_dict  # noqa: F401,E402
from . import optim  # noqa: F401,E402
from . import metrics, models, train, utils  # noqa: F401,E402
from . import data  # noqa: F401,E402
from .utils import data as _utils_data  # noqa: E402,F401  (handgrad.utils.data is handgrad.data)
from . import accelerator, backends, cuda  # noqa: F401,E402
from . import amp, jit, testing  # noqa: F401,E402
from .amp import autocast  # noqa: F401,E402
from .runtime import *  # noqa: F401,F403,E402
from . import func  # noqa: F401,E402
from . import distributions  # noqa: F401,E402
from . import attacks  # noqa: F401,E402
from . import calibration, cluster, manifold, sparse  # noqa: F401,E402
from . import analysis  # noqa: F401,E402
