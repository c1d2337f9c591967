"""The layering rules of ``design/architecture.md``, read from the source with ``ast``.

Every ``import`` in ``src/parley`` counts, including those inside functions and under
``TYPE_CHECKING``: a type-only cycle is still a cycle a reader has to untangle.

- no import cycles between modules;
- ``wire/`` imports nothing internal;
- a backend imports none of ``wire/``, ``http/``, ``storage/``, nor a sibling backend
  (shared pieces live in ``backends/common``, which imports no backend);
- ``http/`` and ``console/`` do not import ``storage/``;
- the Console is an outer layer: only ``app.py`` imports ``console/``;
- ``compat/`` (other clients' protocols) imports only ``wire/``, ``errors`` and itself;
- nothing outside ``http/``, ``cli/`` and ``app.py`` imports ``http/``;
- importing the Messages service does not load llama.cpp.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "parley"
# Backends that are not a backend of their own: the protocol, the kinds' registry
# (which imports each kind lazily, by design) and the shared pieces.
BACKEND_INFRASTRUCTURE = ("parley.backends.base", "parley.backends.registry")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module ``name`` refers to: itself, or the package holding it (for
    ``from parley.x import y`` where y is not a module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports(module: str) -> frozenset[str]:
    """The parley modules ``module`` imports, anywhere in its source."""
    known = modules()
    tree = ast.parse(known[module].read_text(), str(known[module]))
    package = module if known[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            if name == "parley" or name.startswith("parley."):
                target = _resolve(name, known)
                if target and target != module and target != "parley":
                    found.add(target)
    return frozenset(found)


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def edges() -> Iterator[tuple[str, str]]:
    for module in modules():
        for target in imports(module):
            yield module, target


def _cycle() -> list[str] | None:
    graph = {m: sorted(imports(m)) for m in modules()}
    state: dict[str, int] = {}
    for root in sorted(graph):
        if root in state:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            # A package's __init__ importing its own modules is how packages export.
            if child.startswith(node + "."):
                continue
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            if child not in state:
                state[child] = 1
                stack.append((child, iter(graph[child])))
                path.append(child)
    return None


def _backend_of(module: str) -> str | None:
    """The backend ``module`` belongs to (``parley.backends.llama_cpp``), if any."""
    if not _inside(module, "parley.backends") or module == "parley.backends":
        return None
    if module in BACKEND_INFRASTRUCTURE:
        return None
    parts = module.split(".")
    return ".".join(parts[:3])


def test_the_import_graph_was_read() -> None:
    """Guards the rules below against passing vacuously."""
    assert "parley.messages.service" in modules()
    assert "parley.backends.base" in imports("parley.messages.service")
    assert len(list(edges())) > 200


def test_no_import_cycles() -> None:
    assert _cycle() is None, " -> ".join(_cycle() or [])


def test_wire_imports_nothing_internal() -> None:
    bad = [
        (m, t) for m, t in edges() if _inside(m, "parley.wire") and not _inside(t, "parley.wire")
    ]
    assert not bad, bad


@pytest.mark.parametrize("forbidden", ["parley.wire", "parley.http", "parley.storage"])
def test_backends_do_not_import(forbidden: str) -> None:
    bad = [(m, t) for m, t in edges() if _backend_of(m) and _inside(t, forbidden)]
    assert not bad, bad


def test_no_backend_imports_another() -> None:
    bad = []
    for module, target in edges():
        mine, theirs = _backend_of(module), _backend_of(target)
        if mine and theirs and mine != theirs and theirs != "parley.backends.common":
            bad.append((module, target))
        if mine == "parley.backends.common" and theirs and theirs != mine:
            bad.append((module, target))
    assert not bad, bad


def test_compat_translates_between_wires_only() -> None:
    allowed = ("parley.compat", "parley.wire", "parley.errors")
    bad = [
        (m, t)
        for m, t in edges()
        if _inside(m, "parley.compat") and not any(_inside(t, a) for a in allowed)
    ]
    assert not bad, bad
    assert "parley.wire.requests" in imports("parley.compat.openai.convert")


@pytest.mark.parametrize("layer", ["parley.http", "parley.console"])
def test_outer_layers_do_not_import_storage(layer: str) -> None:
    bad = [(m, t) for m, t in edges() if _inside(m, layer) and _inside(t, "parley.storage")]
    assert not bad, bad


def test_only_the_app_imports_the_console() -> None:
    bad = [
        (m, t)
        for m, t in edges()
        if _inside(t, "parley.console") and not _inside(m, "parley.console") and m != "parley.app"
    ]
    assert not bad, bad
    assert "parley.console" in imports("parley.app")


def test_only_the_outer_layers_import_http() -> None:
    outer = ("parley.http", "parley.cli", "parley.app", "parley.console")
    bad = [
        (m, t)
        for m, t in edges()
        if _inside(t, "parley.http") and not any(_inside(m, o) for o in outer)
    ]
    assert not bad, bad


def test_the_messages_service_does_not_load_llama_cpp() -> None:
    probe = (
        "import sys, parley.messages.service, parley.app; "
        "print(sorted(m for m in sys.modules if m == 'llama_cpp' or m.startswith('llama_cpp.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=SRC.parent
    )
    assert result.stdout.strip() == "[]", result.stdout
