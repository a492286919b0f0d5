"""See the recorded graph: Graphviz DOT text of the operations behind a tensor."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ._tensor import Tensor


def to_dot(tensor: Tensor, name: str = "handgrad") -> str:
    """DOT text of the graph that produced ``tensor``: one box per recorded operation (its name
    and output shape), one ellipse per leaf (shape, dtype, whether it requires grad), edges from
    inputs to the operations that consumed them."""
    lines = [f"digraph {name} {{", "  rankdir=BT;", '  node [fontname="Helvetica", fontsize=10];']
    ids: dict[int, str] = {}

    def leaf_id(t: Tensor) -> str:
        key = id(t)
        if key not in ids:
            ids[key] = f"t{len(ids)}"
            style = "filled" if t.requires_grad else "dashed"
            label = f"leaf {tuple(t.shape)}\\n{t.dtype}" + (
                "\\nrequires_grad" if t.requires_grad else ""
            )
            lines.append(
                f'  {ids[key]} [shape=ellipse, style={style}, fillcolor="#d8eaff", '
                f'label="{label}"];'
            )
        return ids[key]

    def fn_id(fn: object) -> str:
        key = id(fn)
        if key not in ids:
            ids[key] = f"f{len(ids)}"
            shape = tuple(getattr(fn, "out_shape", ()))
            lines.append(
                f'  {ids[key]} [shape=box, style=filled, fillcolor="#fff2cc", '
                f'label="{fn.name}\\n{shape}"];'
            )
        return ids[key]

    if tensor._ctx is None:
        leaf_id(tensor)
        lines.append("}")
        return "\n".join(lines)
    stack, seen = [tensor._ctx], set()
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        me = fn_id(fn)
        for t in fn.inputs:
            src = fn_id(t._ctx) if t._ctx is not None else leaf_id(t)
            lines.append(f"  {src} -> {me};")
            if t._ctx is not None:
                stack.append(t._ctx)
    lines.append("}")
    return "\n".join(lines)


def render(tensor: Tensor, path: str | Path, format: str | None = None) -> Path:
    """Write the graph as an image (SVG, PNG, PDF: from the file's suffix) with Graphviz's
    ``dot`` program, which must be installed."""
    path = Path(path)
    fmt = format or path.suffix.lstrip(".") or "svg"
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "render: the Graphviz 'dot' program is not installed (e.g. apt-get install graphviz); "
            "to_dot() still gives the DOT text"
        )
    subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=to_dot(tensor).encode(), check=True)
    return path
