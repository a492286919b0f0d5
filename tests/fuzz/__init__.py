"""A differential fuzzer: random programs run in handgrad and in PyTorch, compared on values,
gradients and second derivatives; every mismatch is shrunk to one operation and classified.

``python -m tests.fuzz`` (or ``make fuzz``) runs a campaign; ``test_fuzz.py`` runs a fixed sample.
"""
