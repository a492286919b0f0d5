"""``handgrad.utils``: what PyTorch programs import from ``torch.utils`` (``data``, ``hooks``)."""

from . import hooks  # noqa: F401
