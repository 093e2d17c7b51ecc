"""The repository's import graph, read from the source with `ast` (every import, also inside functions
and under TYPE_CHECKING): modules, packages, and the cycles between them."""
from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Import roots (what PYTHONPATH holds) and the top-level packages under them that the repo owns.
ROOTS = {"layers/common": ("lectern",), "devtools": ("lectern_admin", "lectern_dev")}


@dataclass(frozen=True)
class Module:
    name: str  # dotted
    path: Path
    is_package: bool  # an __init__.py

    @property
    def package(self) -> str:
        """The package the module belongs to (a package's __init__ belongs to the package itself)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def discover(repo_root: Path = REPO_ROOT) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for root, packages in ROOTS.items():
        for package in packages:
            for path in sorted((repo_root / root / package).rglob("*.py")):
                parts = path.relative_to(repo_root / root).with_suffix("").parts
                is_package = parts[-1] == "__init__"
                name = ".".join(parts[:-1] if is_package else parts)
                modules[name] = Module(name, path, is_package)
    return modules


def imports_of(module: Module, known: Mapping[str, Module]) -> set[str]:
    """The repository's modules that `module` imports, anywhere in its source."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _most_specific(alias.name, known)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = module.package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                target = submodule if submodule in known else _most_specific(base, known)
                if target:
                    found.add(target)
    found.discard(module.name)
    return found


def _most_specific(dotted: str, known: Mapping[str, Module]) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def module_graph(repo_root: Path = REPO_ROOT) -> dict[str, set[str]]:
    modules = discover(repo_root)
    return {name: imports_of(module, modules) for name, module in modules.items()}


def package_graph(graph: Mapping[str, set[str]], modules: Mapping[str, Module]) -> dict[str, set[str]]:
    """Modules folded into their packages; a package and its ancestors are not told apart
    (`lectern.catalog` may use `lectern.config`, and `lectern/__init__` may name its subpackages)."""
    packages: dict[str, set[str]] = {}
    for name, targets in graph.items():
        source = modules[name].package
        edges = packages.setdefault(source, set())
        for target in targets:
            target_package = modules[target].package
            if not (_within(source, target_package) or _within(target_package, source)):
                edges.add(target_package)
    return packages


def _within(package: str, ancestor: str) -> bool:
    return package == ancestor or package.startswith(ancestor + ".")


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of `graph` (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> tuple[str, Iterator[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return node, iter(sorted(graph.get(node, ())))

    for root in sorted(graph):
        if root in index:
            continue
        work = [visit(root)]
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    work.append(visit(successor))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def cycles(graph: Mapping[str, Iterable[str]]) -> list[tuple[list[str], list[str]]]:
    """Per group of nodes that import each other: the shortest cycle (a → … → a) through its first
    node, and every node of the group."""
    found = []
    for component in strongly_connected(graph):
        start = component[0]
        if len(component) == 1 and start not in graph.get(start, ()):
            continue
        found.append((_path_back(graph, start, set(component)), component))
    return sorted(found)


def _path_back(graph: Mapping[str, Iterable[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path start → … → start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph.get(node, ())):
                if successor not in members:
                    continue
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if successor not in previous:
                    previous[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{start} is in a cycle but no path leads back to it")


def describe(found: list[tuple[list[str], list[str]]]) -> str:
    lines = []
    for path, group in found:
        others = [node for node in group if node not in path]
        lines.append(" → ".join(path) + (f"  (the same cycle also runs through {', '.join(others)})" if others else ""))
    return "\n".join(lines)
