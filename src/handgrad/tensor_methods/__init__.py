"""The method groups of the public ``Tensor``, one class per meaning. Every method is a ``def`` that
delegates to the function of the same name in ``handgrad.ops`` (or ``handgrad.composed``), so a
reader, an IDE and a type checker find it; ``x.exp()`` is ``hg.exp(x)``."""

from .autograd import AutogradMethods
from .conversion import ConversionMethods
from .elementwise import ElementwiseMethods
from .indexing import IndexingMethods
from .inplace import InplaceMethods
from .linalg import LinalgMethods
from .reduction import ReductionMethods
from .shape import ShapeMethods

__all__ = [
    "AutogradMethods",
    "ConversionMethods",
    "ElementwiseMethods",
    "IndexingMethods",
    "InplaceMethods",
    "LinalgMethods",
    "ReductionMethods",
    "ShapeMethods",
]
