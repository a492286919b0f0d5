"""``handgrad.backends``: torch's backend switches, accepted as documented no-ops on the CPU.

Programs set ``torch.backends.cudnn.deterministic = True`` or ``benchmark = False`` for
reproducibility, and ask ``torch.backends.mps.is_available()``. handgrad has one backend (NumPy
on the CPU) and is deterministic for a given seed whatever these say; the flags hold the
values a program assigns (torch's defaults until then) and change nothing.
"""

from __future__ import annotations

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
