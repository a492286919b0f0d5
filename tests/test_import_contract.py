"""The import contract: arrows point one way.

    engine <- engine tools <- nn <- optim, data <- algorithms <- train <- commands <- exercises

Every module of ``src/handgrad`` belongs to one layer (a module the map does not place fails the
test: whoever adds a module decides where it sits). A module may import its own layer and the
layers below it, never one above, and no set of modules imports itself round in a circle. The
imports are read from the source (``ast``), inside functions too: an import deferred into a
function body is still an arrow. An import under ``if TYPE_CHECKING:`` never runs, so it cannot
close a cycle; it still may not point upward. ``handgrad/__init__.py`` is the public face that
gathers every layer and is left out.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "handgrad"

# The layer of each module, by the longest matching dotted prefix (relative to ``handgrad``).
LAYERS: list[tuple[str, list[str]]] = [
    # utils: torch.utils' leaves (hooks' RemovableHandle, the allocator opt-in) that nn and optim
    # both use; utils.data is handgrad.data under torch's path. cuda, accelerator, backends: the
    # CPU-only stand-ins of torch's namespaces; amp, runtime, jit, testing: torch's top-level
    # namespaces a program touches besides tensors (autocast, compile, finfo, assert_close).
    (
        "engine",
        [
            "_tensor",
            "_tensor_base",
            "_shared_memory",
            "tensor_methods",
            "autograd",
            "ops",
            "composed",
            "dtypes",
            "device",
            "creation",
            "random",
            "linalg",
            "_validation",
            "files",
            "threads",
            "utils",
            "cuda",
            "accelerator",
            "backends",
            "amp",
            "runtime",
            "jit",
            "testing",
        ],
    ),
    ("engine tools", ["gradcheck", "viz"]),
    # distributions computes with nn.functional (softplus, log-sigmoid); serialization saves and
    # loads a Module's state dict.
    ("nn", ["nn", "distributions", "serialization"]),
    # func: per-example gradients and PerSampleAdam, an optim.Adam.
    ("optim, data", ["optim", "data", "utils.data", "metrics", "multiprocessing", "func"]),
    (
        "algorithms",
        [
            "analysis",
            "attacks",
            "calibration",
            "cluster",
            "manifold",
            "sparse",
            "models",
            "plots",
            "vision",
        ],
    ),
    ("train", ["train"]),
    ("commands", ["commands", "cli", "_cli_util", "demo"]),
    # The `handgrad exercises` command is the course's own front door: it sits with the exercises
    # (cli.py finds every command by its module's name, not by an import).
    ("exercises", ["exercises", "commands.exercises"]),
]
RANK = {prefix: rank for rank, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes}


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANK:
            return RANK[prefix]
    return None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


@functools.cache  # every file is parsed once per session, whichever test reads it first
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imports(module: str, path: Path, known: set[str], *, runtime_only: bool) -> set[str]:
    """The handgrad modules that ``module`` imports, each resolved to the deepest known module.

    ``from pkg import name`` is an arrow to ``pkg.name`` when that is a module, else to ``pkg``
    (its ``__init__`` supplies the name)."""
    is_pkg = path.name == "__init__.py"
    package = module.split(".") if is_pkg else module.split(".")[:-1]
    tree = _parse(path)
    skip = _type_checking_nodes(tree) if runtime_only else set()
    out = set()

    def add(target: str) -> None:
        if not (target == "handgrad" or target.startswith("handgrad.")):
            return
        name = target[len("handgrad.") :] if target != "handgrad" else ""
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            out.add(name)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                stem = ".".join(["handgrad", *base] + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            for alias in node.names:
                sub = f"{stem}.{alias.name}"
                add(sub if sub.removeprefix("handgrad.") in known else stem)
    return out


def graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports(m, p, known, runtime_only=runtime_only) for m, p in mods.items()}


def upward_imports() -> list[str]:
    upward = []
    for module, targets in graph().items():
        for target in targets:
            lm, lt = layer(module), layer(target)
            if lm is not None and lt is not None and lt > lm:
                upward.append(f"{module} ({LAYERS[lm][0]}) imports {target} ({LAYERS[lt][0]})")
    return sorted(upward)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(g):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(g[root])))]
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in g:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(g[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in modules() if layer(m) is None)
    assert not unplaced, f"modules the import contract does not place: {unplaced}"


def test_no_import_points_upward():
    upward = upward_imports()
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_no_import_cycles():
    found = cycles(graph(runtime_only=True))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


# ---- the checker itself: it must see what it claims to forbid ------------------------------------


def test_the_cycle_finder_finds_a_cycle_and_only_the_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_resolve_relative_deferred_and_type_only_imports(tmp_path):
    pkg = tmp_path / "handgrad" / "nn"
    pkg.mkdir(parents=True)
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import functional as F\n"
        "from ..ops import elementwise\n"
        "from ..optim import Adam\n"
        "if TYPE_CHECKING:\n"
        "    from ..train import loop\n"
        "def f():\n"
        "    import handgrad.data.dataset\n"
    )
    (pkg / "layer.py").write_text(source)
    known = {
        "nn",
        "nn.layer",
        "nn.functional",
        "ops",
        "ops.elementwise",
        "optim",
        "train",
        "train.loop",
        "data",
        "data.dataset",
    }
    every = imports("nn.layer", pkg / "layer.py", known, runtime_only=False)
    assert every == {"nn.functional", "ops.elementwise", "optim", "train.loop", "data.dataset"}
    runtime = imports("nn.layer", pkg / "layer.py", known, runtime_only=True)
    assert runtime == every - {"train.loop"}
    assert layer("nn.layer") == RANK["nn"] and layer("optim.adam") == RANK["optim"]
    assert layer("no_such_module") is None
