"""Run a PyTorch program twice: as written, and with its imports changed to handgrad.

A port program (``tests/programs/port_*.py``) is ordinary PyTorch code that defines ``main()``
returning a dict of named results; it may set ``TOLERANCE = {"name": (rtol, atol)}`` and
``SLOW = True``. ``rewrite`` changes only import statements (``torch`` -> ``handgrad``,
``torchvision`` -> ``handgrad.vision``), which is exactly the edit the README promises is enough.
Each run happens in a fresh interpreter, from a real file, so ``multiprocessing`` with the spawn
start method can import the program in its children.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
DEFAULT_TOLERANCE = (1e-4, 1e-5)
MARKER = "PORT-RESULT "
FOOTER = f"""

if __name__ == "__main__":
    import json as _json
    print({MARKER!r} + _json.dumps(main(), default=float))
"""


def _target(module: str) -> str:
    """The handgrad module a torch module path is ported to."""
    for old, new in (("torchvision", "handgrad.vision"), ("torch", "handgrad")):
        if module == old or module.startswith(old + "."):
            return new + module[len(old) :]
    return module


def _import_lines(node: ast.Import) -> list[str]:
    lines = []
    for alias in node.names:
        new = _target(alias.name)
        if alias.asname:
            lines.append(f"import {new} as {alias.asname}")
        elif new == alias.name:
            lines.append(f"import {new}")
        elif "." not in alias.name:
            lines.append(f"import {new} as {alias.name}")
        else:
            # `import torch.nn` binds the name `torch`: bind it to the ported package.
            top = alias.name.split(".")[0]
            lines.append(f"import {new}")
            lines.append(f"import {_target(top)} as {top}")
    return lines


def rewrite(source: str) -> str:
    """``source`` with every torch/torchvision import pointed at handgrad, nothing else changed."""
    lines = source.splitlines()
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            new = _import_lines(node)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = _target(node.module)
            if module == node.module:
                continue
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            new = [f"from {module} import {names}"]
        else:
            continue
        if [ln.strip() for ln in new] == [lines[node.lineno - 1].strip()]:
            continue
        edits.append((node.lineno, node.end_lineno, node.col_offset, new))
    for start, end, col, new in sorted(edits, reverse=True):
        indent = lines[start - 1][:col]
        lines[start - 1 : end] = [indent + "; ".join(new)]
    return "\n".join(lines) + "\n"


def settings(path: Path) -> tuple[dict, bool]:
    """The program's TOLERANCE and SLOW, read without running it."""
    tolerance, slow = {}, False
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = getattr(node.targets[0], "id", None)
            if name == "TOLERANCE":
                tolerance = ast.literal_eval(node.value)
            elif name == "SLOW":
                slow = bool(ast.literal_eval(node.value))
    return tolerance, slow


def run(path: Path, library: str, timeout: float = 600) -> dict:
    """Run the program with ``library`` ("torch" or "handgrad") in a fresh interpreter."""
    source = path.read_text()
    if library == "handgrad":
        source = rewrite(source)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / path.name
        script.write_text(source + FOOTER)
        # one thread per library: the suite runs on two shared cores
        path_entries = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = dict(
            os.environ,
            PORT_DATA=str(DATA),
            OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *path_entries]),
        )
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp,
            env=env,
        )
    if proc.returncode != 0:
        raise AssertionError(
            f"{path.name} with {library} exited {proc.returncode}:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise AssertionError(f"{path.name} with {library} printed no result:\n{proc.stdout[-2000:]}")
