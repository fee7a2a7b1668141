"""The import structure is a stack: no module of cgmvae/ or benchmarks/ imports its way back to
itself, counting imports inside functions and under TYPE_CHECKING."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cgmvae", "benchmarks")


def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """{dotted module name: file} of every .py file of `packages` (a package is its __init__)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(path: Path, module: str, known: set[str]) -> set[str]:
    """The modules of `known` that `module` (at `path`) imports, anywhere in the file, relative
    imports resolved. `from a import b` imports the submodule `a.b` when there is one, else `a`.
    Importing `a.b` runs `a` too, but a package importing its own submodules is how packages
    work: only the named module is an edge."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..y import z
                parts = module.split(".")
                anchor = parts[:len(parts) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.add(submodule if submodule in known else base)
    return (names & known) - {module}


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    """{module: the modules of `packages` it imports}."""
    files = module_files(root, packages)
    return {module: imported_modules(path, module, set(files)) for module, path in files.items()}


def tangled_groups(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of two or more modules that import each other, directly or not (Tarjan's
    strongly connected components)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                groups.append(set(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def shortest_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest import path from the group's first module back to itself (a, b, ..., a)."""
    start = min(group)
    paths, seen = [[start]], {start}
    while paths:  # breadth first
        path = paths.pop(0)
        for target in sorted(graph[path[-1]] & group):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                paths.append([*path, target])
    raise ValueError(f"{sorted(group)} do not import each other")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each group of modules that import each other."""
    return [shortest_cycle(graph, group) for group in tangled_groups(graph)]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgmvae_and_benchmarks_have_no_import_cycle():
    graph = import_graph()
    lines = [" -> ".join(shortest_cycle(graph, group)) + f"  (modules in the tangle: "
             f"{', '.join(sorted(group))})" for group in tangled_groups(graph)]
    assert not lines, "import cycles:\n" + "\n".join(lines)


def test_a_cycle_through_a_function_level_or_relative_import_is_found(tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "from pkg.a import run\n")  # a package's re-export
    write(tmp_path / "pkg" / "a.py", "def run():\n    from pkg import b\n")
    write(tmp_path / "pkg" / "b.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                     "    from .c import thing\n")
    write(tmp_path / "pkg" / "c.py", "from . import a\nimport os\n")
    write(tmp_path / "pkg" / "d.py", "import pkg.a\n")  # imports into the cycle, not part of it
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.c"}
    assert graph["pkg.c"] == {"pkg.a"} and graph["pkg.d"] == {"pkg.a"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_a_stack_has_no_cycle():
    assert find_cycles({"app": {"model", "data"}, "model": {"data"}, "data": set()}) == []


LAYERS = {  # docs/ARCHITECTURE.md, from the bottom; a module imports only from its layer or below
    0: ("config", "data", "metrics", "associations", "extrapolation", "distributed", "progress",
        "run_folder", "whole_file"),
    1: ("formats", "simulate"),
    2: ("model", "variants", "config_choices"),
    3: ("losses", "optim"),
    4: ("checkpoint", "predictor"),
    5: ("train", "timing", "tune", "datasets", "model_store"),
    6: ("streaming", "estimator", "explore"),
    7: ("cli", "__main__"),
}


def layer_of(module: str) -> int:
    """The layer of a cgmvae module (`cgmvae.formats.csv_table` is in `formats`'s)."""
    if module == "cgmvae":
        return 0  # the package re-exports the base types; the rest only lazily
    top = module.split(".")[1]
    found = [layer for layer, names in LAYERS.items() if top in names]
    assert found, f"{module} is in no layer of docs/ARCHITECTURE.md: add it there and to LAYERS"
    return found[0]


def test_cgmvae_is_a_stack_no_module_imports_from_a_higher_layer():
    graph = import_graph(ROOT, ("cgmvae",))
    upward = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
              for a, targets in sorted(graph.items()) for b in sorted(targets)
              if a != "cgmvae" and layer_of(b) > layer_of(a)]
    assert not upward, "imports up the stack:\n" + "\n".join(upward)


def test_the_library_never_imports_the_app():
    for path in sorted((ROOT / "cgmvae").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in {"streamlit", "ui", "app", "pages"} for n in names), \
                f"{path.relative_to(ROOT)} imports the app's {names}"
