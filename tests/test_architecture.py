"""The layout keeps its promises: no import cycles, and a tool that never names its reference project's domain."""

from __future__ import annotations

from collections.abc import Iterator

import grimp

from tests.conftest import REPO_ROOT

SOURCE = REPO_ROOT / "src" / "trunkml"


def strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative: each group of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    yield sorted(group)


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("trunkml")
    modules = set(graph.modules)
    return {module: graph.find_modules_directly_imported_by(module) & modules for module in modules}


def test_the_cycle_finder_finds_a_cycle() -> None:
    found = list(strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}))
    assert [group for group in found if len(group) > 1] == [["a", "b", "c"]]


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the whole package was read, not an empty graph
    assert "trunkml.release.promotion" in graph["trunkml.pipelines.model_pipelines"]
    cycles = [group for group in strongly_connected(graph) if len(group) > 1]
    cycles += [[module] for module, imported in graph.items() if module in imported]
    assert cycles == []


def test_no_module_of_the_tool_names_the_reference_domain() -> None:
    # What `grep -ri hate src/trunkml` would find, over every file the wheel ships (templates included).
    hits = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in sorted(SOURCE.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if "hate" in line.lower()
    ]
    assert len(list(SOURCE.rglob("*.py"))) > 100
    assert hits == []


def test_the_tool_does_not_import_the_reference_model_package() -> None:
    graph = grimp.build_graph("trunkml", "hatedetection")
    assert "hatedetection.train" in graph.modules
    assert graph.chain_exists(importer="hatedetection", imported="trunkml", as_packages=True)  # the user uses the tool
    assert not graph.chain_exists(importer="trunkml", imported="hatedetection", as_packages=True)
