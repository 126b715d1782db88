"""The package's layers, as data, checked over its source with ``ast``: no import circle, no upward import.

Every import counts: at module level, inside a function, under ``TYPE_CHECKING`` (a type-only import still
ties two modules together for whoever reads them). ``from pkg import name`` is an edge to ``pkg.name`` when
that is a module, else to ``pkg``; the parent packages an import loads on the way are not edges (every
folder's ``__init__`` re-exports its own modules).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "bingx_closeall_plugin"
ROOT = Path(__file__).parent.parent / PACKAGE

# The folders and what each may import besides itself. The package's own top-level modules (its __init__,
# demo.py, freqtrade_bingx.py) are entry points: they may import any folder, and no folder imports them.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),  # the close path and what it stands on: no front end, no simulator
    "cli": {"core"},
    # `bingx-closeall guard` is a subcommand of the CLI: it reads accounts, exit codes and logging as the CLI
    # does (cli.accounts, cli.run, cli.command.setup_logging). The CLI reaches it by name only, at run time.
    "guard": {"core", "cli"},
    "freqtrade": {"core"},
    "simulator": set(),  # a stand-in for BingX: nothing of the plugin
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {target for target in found if target in known and target != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def folder_of(name: str) -> str | None:
    """``core``, ``cli``, ...; None for the package's top-level modules."""
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[1]).is_dir()) else None


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def cycle_edges(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Every import that lies on a cycle: both ends in the same strongly connected component."""
    return {(a, b) for component in cycles(edges) for a in component for b in edges[a] if b in component}


def short(name: str) -> str:
    return name.removeprefix(PACKAGE + ".")


def test_the_rule_names_every_folder():
    folders = {path.name for path in ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert folders == set(MAY_IMPORT), "a new folder needs its line in MAY_IMPORT"


def test_no_upward_or_sideways_import_between_the_folders():
    wrong = []
    for name, targets in graph().items():
        source = folder_of(name)
        for target in targets:
            goal = folder_of(target)
            if goal == source:
                continue
            if goal is None and source is not None:
                wrong.append(f"{short(name)} imports the top-level {short(target)}")
            elif source is not None and goal is not None and goal not in MAY_IMPORT[source]:
                wrong.append(f"{short(name)} ({source}/) imports {short(target)} ({goal}/)")
    assert wrong == [], "\n".join(sorted(wrong))


def test_no_import_circle():
    """Anywhere in the package, freqtrade/ included, with no tolerance."""
    on_a_cycle = {(short(a), short(b)) for a, b in cycle_edges(graph())}
    assert on_a_cycle == set(), "imports on a cycle:\n" + "\n".join(f"{a} -> {b}" for a, b in sorted(on_a_cycle))


def test_the_checker_sees_a_circle_and_an_upward_import():
    # The checks above pass on an empty graph too: show they can fail.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycle_edges({"a": {"b"}, "b": {"a", "c"}, "c": set()}) == {("a", "b"), ("b", "a")}
    edges = graph()
    assert f"{PACKAGE}.core.closeall" in edges[f"{PACKAGE}.core.flatten"]  # relative imports are resolved
    assert f"{PACKAGE}.core.exchange" in edges[f"{PACKAGE}.cli.accounts"]
    assert folder_of(f"{PACKAGE}.demo") is None and folder_of(f"{PACKAGE}.cli") == "cli"
