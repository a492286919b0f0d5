"""``handgrad.optim``: the optimizers of torch.optim (same names, arguments, state-dict layout
and trajectories) and those of the course: EWA, proximal steps (ISTA/FISTA), mirror descent and
diagonal preconditioning."""

from . import lr_scheduler  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .ewa import EWA  # noqa: F401
from .mirror import MirrorDescent  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .preconditioned import PreconditionedSGD  # noqa: F401
from .proximal import FISTA, L1Prox, L2Prox, ProximalSGD, Radial  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "EWA", "ProximalSGD",
           "FISTA", "L1Prox", "L2Prox", "Radial", "MirrorDescent", "PreconditionedSGD",
           "lr_scheduler"]
