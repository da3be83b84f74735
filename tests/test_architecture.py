"""The architecture holds: the import contract (pyproject.toml, ARCHITECTURE.md), no two modules
importing each other, nothing done at import, and every library module in a concept's folder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parent.parent
# The only modules of lenet_viz outside a subpackage (ARCHITECTURE.md says why).
TOP_LEVEL_MODULES = {"lenet_viz", "lenet_viz.__main__"}


def test_the_import_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_two_modules_import_each_other_even_lazily():
    # grimp counts imports inside functions too: a lazy import that hides a circle is one.
    graph = grimp.build_graph("lenet_viz", "ui")
    assert import_cycles(graph) == []


def test_the_cycle_check_finds_a_circle(tmp_path, monkeypatch):
    package = tmp_path / "circle_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circle_pkg import b\n")
    (package / "b.py").write_text("def f():\n    from circle_pkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("circle_pkg")) == [["circle_pkg.a", "circle_pkg.b"]]


def test_every_module_lives_in_a_concept_folder():
    graph = grimp.build_graph("lenet_viz")
    loose = {m for m in graph.modules if m.count(".") < 2} - TOP_LEVEL_MODULES
    subpackages = {m for m in loose if (REPO / m.replace(".", "/") / "__init__.py").exists()}
    assert loose - subpackages == set()


def test_importing_every_module_starts_no_thread_and_reads_no_file():
    """Threads and files are for first use, not import (a test or a page that imports a module
    must not pay for, or be surprised by, what it did not ask for)."""
    probe = textwrap.dedent(
        """
        import importlib, inspect, json, pkgutil, sys, threading
        import torch, numpy, plotly.graph_objects  # third-party imports may read their files
        import lenet_viz
        opened = []

        def audit(event, args):
            if event != "open":
                return
            frame = inspect.currentframe()
            while frame is not None:
                if "/lenet_viz/" in frame.f_code.co_filename:
                    path = str(args[0])
                    if not path.endswith((".py", ".pyc")) and "__pycache__" not in path:
                        opened.append(path)
                    return
                frame = frame.f_back

        threads = set(threading.enumerate())
        sys.addaudithook(audit)
        for module in pkgutil.walk_packages(lenet_viz.__path__, "lenet_viz."):
            if module.name != "lenet_viz.__main__":
                importlib.import_module(module.name)
        started = [t.name for t in set(threading.enumerate()) - threads]
        print(json.dumps({"opened": opened, "threads": started}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"opened": [], "threads": []}
