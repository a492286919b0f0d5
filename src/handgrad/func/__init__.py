"""``handgrad.func``: torch.func's transforms (``functional_call``, ``grad``,
``grad_and_value``, ``vmap``: see ``transforms.py``) and handgrad's own per-example gradients
from one batched backward pass (``per_sample_grad``, ``PerSampleAdam``: see ``per_sample.py``)."""

from .per_sample import PerSampleAdam, per_sample_grad
from .transforms import functional_call, grad, grad_and_value, vmap

__all__ = ["per_sample_grad", "PerSampleAdam", "functional_call", "grad", "grad_and_value", "vmap"]
