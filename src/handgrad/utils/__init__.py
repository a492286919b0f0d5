"""``handgrad.utils``: what PyTorch programs import from ``torch.utils``: ``hooks``
(``RemovableHandle``) and ``data`` (``handgrad.data`` under torch's path, see ``utils/data.py``;
imported by ``handgrad/__init__`` once ``handgrad.data`` exists, since ``nn`` imports
``utils.hooks`` first)."""

from . import hooks  # noqa: F401
