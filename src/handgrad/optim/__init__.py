"""``handgrad.optim``: the optimizers of torch.optim (same names, arguments, state-dict layout
and trajectories) and those of the course: EWA, proximal steps (ISTA/FISTA), mirror descent and
diagonal preconditioning."""

from . import lr_scheduler, swa_utils  # noqa: F401
from .adadelta import Adadelta  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adamax import Adamax  # noqa: F401
from .asgd import ASGD  # noqa: F401
from .ewa import EWA  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .mirror import MirrorDescent  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .preconditioned import PreconditionedSGD  # noqa: F401
from .proximal import FISTA, L1Prox, L2Prox, ProximalSGD, Radial  # noqa: F401
from .radam import RAdam  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .rprop import Rprop  # noqa: F401
from .sgd import SGD  # noqa: F401

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "ASGD",
    "Rprop",
    "LBFGS",
    "Adafactor",
    "EWA",
    "ProximalSGD",
    "FISTA",
    "L1Prox",
    "L2Prox",
    "Radial",
    "MirrorDescent",
    "PreconditionedSGD",
    "lr_scheduler",
    "swa_utils",
]
