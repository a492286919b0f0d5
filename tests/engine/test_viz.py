import shutil

import pytest

import handgrad as hg


def test_to_dot_lists_operations_shapes_and_leaves():
    x = hg.randn(2, 3, requires_grad=True)
    w = hg.randn(4, 3, requires_grad=True)
    y = (x @ w.T).relu().sum()
    dot = hg.viz.to_dot(y)
    assert dot.startswith("digraph")
    for op in ("matmul", "relu", "sum", "permute"):
        assert op in dot
    assert "(2, 4)" in dot and "requires_grad" in dot
    assert dot.count("->") == 5  # x, w -> permute -> matmul -> relu -> sum


def test_render_explains_a_missing_dot_program(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    y = (hg.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="Graphviz 'dot' program is not installed"):
        hg.viz.render(y, tmp_path / "g.svg")
