"""The shape of ``handgrad.nn``: functions below layers, and layers where torch keeps them."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import torch

import handgrad as hg

NN = Path(hg.nn.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every import in a file: level 1 is '.', 2 is '..'."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            out.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import):
            out += [(0, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("path", sorted((NN / "functional").glob("*.py")), ids=lambda p: p.name)
def test_functional_imports_no_layer(path):
    # Inside nn/functional, level 2 ('..') is handgrad.nn itself: a layer module would be there.
    for level, module in _imports(path):
        assert level != 2, f"{path.name} imports handgrad.nn.{module} (a layer module)"
        assert not module.startswith("handgrad.nn"), f"{path.name} imports {module}"


@pytest.mark.parametrize(
    "name", ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
)
def test_conv_signature_is_torchs(name):
    # The six constructors share two definitions; their signatures must still be torch's.
    ours = inspect.signature(getattr(hg.nn, name)).parameters
    theirs = inspect.signature(getattr(torch.nn, name)).parameters
    assert list(ours) == list(theirs)
    for p in theirs.values():
        assert ours[p.name].default == p.default, (name, p.name)


@pytest.mark.parametrize(
    "name",
    [
        "MaxUnpool2d",
        "LocalResponseNorm",
        "ChannelShuffle",
        "Softmax2d",
        "Upsample",
        "Fold",
        "Sequential",
        "ModuleList",
    ],
)
def test_layer_lives_where_torch_keeps_it(name):
    # torch.nn.modules.<file> and handgrad.nn.<file> name the same file.
    theirs = getattr(torch.nn, name).__module__.rsplit(".", 1)[1]
    assert getattr(hg.nn, name).__module__ == f"handgrad.nn.{theirs}"


@pytest.mark.parametrize(
    "name, args",
    [
        ("TransformerEncoderLayer", (8, 2, 16)),
        ("TransformerDecoderLayer", (8, 2, 16)),
        ("BatchNorm1d", (4,)),
        ("GroupNorm", (2, 4)),
        ("InstanceNorm1d", (4,)),
        ("LayerNorm", (4,)),
        ("Conv2d", (2, 3, 3)),
        ("ConvTranspose3d", (2, 3, 3)),
        ("Sequential", ()),
    ],
)
def test_shared_constructors_keep_torchs_keys(name, args):
    # Layers built through shared helpers register their parts in torch's order.
    ours, theirs = getattr(hg.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_functional_names_are_the_functions_not_their_modules():
    # nn/functional/dropout.py and linear.py share a name with a function they define: the
    # package must bind the function (import order in nn/functional/__init__.py decides).
    import types

    import handgrad.nn.functional as F

    assert len(F.__all__) == len(set(F.__all__))
    for name in F.__all__:
        obj = getattr(F, name)
        assert callable(obj) and not isinstance(obj, types.ModuleType), name
    assert F.dropout.__module__ == "handgrad.nn.functional.dropout"
    assert F.linear(hg.ones(1, 2), hg.ones(3, 2)).shape == (1, 3)
