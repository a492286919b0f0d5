"""The shape of the engine (docs/architecture.md, "Engine"): imports point one way, every primitive
lives in ``ops/``, every Tensor method is a ``def`` a reader can jump to, the grad-mode switches are
written by one module, and importing handgrad changes nothing in the process."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import handgrad as hg

SRC = Path(hg.__file__).resolve().parent

# The engine's layers, bottom first. A module may import from its own layer (one way, checked for
# cycles below) or from a layer beneath it, never from a layer above.
LAYERS = [
    ["dtypes", "device"],
    ["_tensor_base"],
    ["_shared_memory"],
    ["autograd.grad_mode", "autograd.function", "autograd.engine", "autograd"],
    ["ops.*", "ops"],
    ["composed.*", "composed"],
    ["tensor_methods.*", "tensor_methods", "creation", "random"],
    ["_tensor"],
]


def _module_file(name: str) -> Path:
    path = SRC.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _layer_of(name: str) -> int | None:
    for i, layer in enumerate(LAYERS):
        for pattern in layer:
            if pattern == name or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                return i
    return None


def _engine_modules() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name and _layer_of(name) is not None:
            names.append(name)
    return names


def _imports(name: str, in_functions: bool = False) -> set[str]:
    """handgrad modules imported by ``name`` at module level (with ``in_functions``, also inside
    functions), never counting TYPE_CHECKING blocks, as names relative to the package."""
    path = _module_file(name)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                continue
            if in_functions and isinstance(
                node,
                (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.For, ast.While, ast.With),
            ):
                visit(node.body)
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{mod}.{alias.name}" if mod else alias.name
                    found.add(sub if _module_file(sub).exists() else mod)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("handgrad"):
                found.add(node.module.removeprefix("handgrad").lstrip("."))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("handgrad."):
                        found.add(alias.name.removeprefix("handgrad."))

    visit(tree.body)
    found.discard("")
    return found


def test_engine_imports_point_down():
    # Imports inside functions count too: a lazy import upward is still an upward dependency.
    upward = []
    for name in _engine_modules():
        mine = _layer_of(name)
        for dep in _imports(name, in_functions=True):
            theirs = _layer_of(dep)
            if dep == "autograd.functional":
                theirs = len(LAYERS)  # above ops, as torch.autograd.functional
            if theirs is None or theirs > mine:
                upward.append(f"{name} imports {dep}")
    assert not upward, "engine modules importing upward or outside the engine:\n" + "\n".join(
        upward
    )


def test_engine_has_no_import_cycle():
    graph = {
        name: {d for d in _imports(name) if _layer_of(d) is not None} for name in _engine_modules()
    }
    # a package's __init__ importing its own submodules is how a package is made, not a cycle
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not d.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def walk(node: str, path: list[str]) -> bool:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle.extend(path[path.index(dep) :] + [dep] if dep in path else [node, dep])
                return True
            if state.get(dep) is None and walk(dep, path + [dep]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and walk(start, [start]):
            break
    assert not cycle, " -> ".join(cycle)


def test_every_primitive_lives_in_ops():
    assert len(hg.PRIMITIVES) > 50
    outside = {
        name: cls.__module__
        for name, cls in hg.PRIMITIVES.items()
        if not cls.__module__.startswith("handgrad.ops.")
    }
    assert not outside, f"primitives outside handgrad.ops: {outside}"


def test_composed_modules_hold_no_primitive():
    from handgrad.autograd import function

    for path in sorted((SRC / "composed").glob("*.py")):
        module = importlib.import_module(
            f"handgrad.composed.{path.stem}" if path.stem != "__init__" else "handgrad.composed"
        )
        prims = [
            n
            for n, v in vars(module).items()
            if inspect.isclass(v)
            and issubclass(v, function.Function)
            and v.__module__ == module.__name__
        ]
        assert not prims, f"{module.__name__} defines primitives {prims}: they belong in ops/"


def test_every_tensor_method_is_a_def_in_a_class_of_the_engine():
    engine_classes = {cls.__qualname__ for cls in hg.Tensor.__mro__}
    for name, member in inspect.getmembers(hg.Tensor):
        fn = member.fget if isinstance(member, property) else member
        if not inspect.isfunction(fn):
            continue
        owner = fn.__qualname__.split(".")[0]
        assert owner in engine_classes, (
            f"Tensor.{name} is {fn.__qualname__}: not written in a class"
        )
        assert Path(inspect.getsourcefile(fn)).resolve().is_relative_to(SRC), name
        assert fn.__name__ != "<lambda>", f"Tensor.{name} is a lambda"


def test_tensor_module_is_not_shadowed_and_names_resolve():
    import handgrad._tensor as tensor_module
    import handgrad.linalg

    assert hg.Tensor.__module__ == "handgrad._tensor"
    assert tensor_module.Tensor is hg.Tensor
    assert hg.linalg is handgrad.linalg and hg.linalg.__name__ == "handgrad.linalg"
    from handgrad.autograd.functional import jacobian

    assert hg.autograd.functional.jacobian is jacobian
    assert callable(hg.tensor)


def test_grad_mode_is_written_only_by_its_module():
    writers = []
    for path in SRC.rglob("*.py"):
        if path.name == "grad_mode.py":
            continue
        text = path.read_text()
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("_state.") and "=" in stripped.split("#")[0]:
                writers.append(f"{path.relative_to(SRC)}: {stripped}")
            if "global _grad_enabled" in stripped or "global _anomaly" in stripped:
                writers.append(f"{path.relative_to(SRC)}: {stripped}")
    assert not writers, writers


def test_import_changes_no_process_setting():
    code = (
        "import ctypes\n"
        "calls = []\n"
        "real = ctypes.CDLL\n"
        "ctypes.CDLL = lambda *a, **k: calls.append(a) or real(*a, **k)\n"
        "import handgrad, handgrad.nn, handgrad.optim\n"
        "assert not calls, calls\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(SRC.parent), "PATH": ""},
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_keep_freed_memory_can_be_disabled_by_the_environment(monkeypatch):
    monkeypatch.setenv("HANDGRAD_KEEP_MEMORY", "0")
    assert hg.utils.keep_freed_memory() is False


def test_the_constructor_and_setup_fill_the_same_fields():
    import numpy as np

    from handgrad._tensor_base import TensorBase

    made = TensorBase._wrap(np.zeros(2))
    filled = object.__new__(hg.Tensor)
    filled._setup(np.zeros(2))
    output = hg.ones(2) * 2  # Function.apply writes the fields inline (the hot path)
    for field in TensorBase.__slots__:
        if field == "__weakref__":
            continue
        a, b, c = getattr(made, field), getattr(filled, field), getattr(output, field)
        assert type(a) is type(b) is type(c), field
        assert field == "_data" or a == b == c, field
