"""The layering, read from the import graph: what DESIGN.md promises stays true.

- `curation` and `training` never import each other; both may import `gristmill`, which
  imports neither.
- No import cycle between modules.
- The run layer (curation/run/) and the core (curation/core/) never import a concrete step.
- No module over 600 lines; no package folder with more than 14 modules (steps/ is a
  catalogue and exempt).
- A helper is defined once: no two modules hold the same function (statements equal,
  variable names aside).
"""

from __future__ import annotations

import ast
import copy
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support.curation import REPO

PACKAGES = ("gristmill", "curation", "training")
MAX_LINES = 600
MAX_MODULES = 14
CATALOGUES = {"curation/steps"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(path: Path, known: set[str]) -> set[str]:
    """Project modules `path` imports (at any depth, TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path, set(found)) - {name} for name, path in found.items()}


def test_the_halves_never_import_each_other(graph: dict[str, set[str]]) -> None:
    allowed = {"gristmill": {"gristmill"}, "curation": {"curation", "gristmill"},
               "training": {"training", "gristmill"}}
    wrong = [f"{module} imports {dep}" for module, deps in graph.items() for dep in deps
             if dep.split(".")[0] not in allowed[module.split(".")[0]]]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    # Tarjan's strongly connected components; any component of 2+ modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_run_layer_and_core_know_no_concrete_step(graph: dict[str, set[str]]) -> None:
    wrong = [f"{module} imports {dep}" for module, deps in graph.items()
             if module.startswith(("curation.run", "curation.core")) for dep in deps
             if dep.startswith("curation.steps.") and dep != "curation.steps.base"]
    assert not wrong, "\n".join(wrong)


def test_modules_stay_small_and_folders_few() -> None:
    long = [f"{p.relative_to(REPO)}: {n} lines" for p in modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)
    per_folder: dict[str, int] = defaultdict(int)
    for path in modules().values():
        if path.name != "__init__.py":
            per_folder[path.parent.relative_to(REPO).as_posix()] += 1
    crowded = [f"{folder}: {n} modules" for folder, n in per_folder.items()
               if n > MAX_MODULES and folder not in CATALOGUES]
    assert not crowded, "\n".join(crowded)


class _Shape(ast.NodeTransformer):
    """A function's body with its own names numbered in order of appearance, so a copy
    with other variable names has the same shape; attribute and called names stay."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self._rename(node.id), node.ctx)

    def visit_arg(self, node: ast.arg) -> ast.arg:
        return ast.arg(self._rename(node.arg))


def shape(function: ast.FunctionDef) -> str:
    node = copy.deepcopy(function)
    node.name, node.decorator_list, node.returns = "f", [], None
    node.body = [n for n in node.body
                 if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return ast.dump(_Shape().visit(node), annotate_fields=False)


def functions() -> list[tuple[str, str, str]]:
    """(module, function, shape) of every function of at least three statements."""
    found = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and len(node.body) >= 3:
                found.append((name, node.name, shape(node)))
    return found


def test_shared_helpers_are_defined_once() -> None:
    """No function of the shared core is written again elsewhere (same statements, names
    aside), and no two modules of the halves hold the same function."""
    by_shape: dict[str, list[str]] = defaultdict(list)
    for module, function, body in functions():
        by_shape[body].append(f"{module}.{function}")
    copies = [", ".join(where) for where in by_shape.values()
              if len({w.rsplit(".", 1)[0] for w in where}) > 1]
    assert not copies, "the same function in several modules:\n" + "\n".join(copies)


def test_the_shape_check_sees_a_renamed_copy() -> None:
    """Guards the guard: a copy with other names has the shape of the original."""
    original = ast.parse("def f(path):\n    d = new()\n    for b in read(path):\n"
                         "        d.update(b)\n    return d.hexdigest()\n").body[0]
    renamed = ast.parse("def g(p):\n    h = new()\n    for c in read(p):\n"
                        "        h.update(c)\n    return h.hexdigest()\n").body[0]
    assert shape(original) == shape(renamed)


def test_the_checks_see_the_whole_project(graph: dict[str, set[str]]) -> None:
    """Guards the guards: the graph holds every package and real edges."""
    assert {m.split(".")[0] for m in graph} == set(PACKAGES)
    assert "gristmill.shards" in graph["training.data.corpus"]
    assert "curation.steps.base" in graph["curation.run.unit"]
