"""Guard the vetting package's shape: no import cycle, one writer of the chain, sources that only read."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from directory.vetting.sources import registry

ROOT = Path(__file__).resolve().parents[3]
VETTING = ROOT / "directory" / "vetting"
DIRECTORY = ROOT / "directory"
WRITER = VETTING / "checks.py"
SESSION_WRITES = ("db.session.add", "db.session.add_all", "db.session.delete", "db.session.flush",
                  "db.session.commit", "db.session.merge", "record_audit")


def _module_name(path: Path) -> str:
    """Return the dotted name of a module under the repository root."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(VETTING.rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Yield the vetting modules an import statement loads."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in MODULES)
        return
    base = node.module or ""
    for alias in node.names:
        if f"{base}.{alias.name}" in MODULES:  # ``from directory.vetting import services``
            yield f"{base}.{alias.name}"
        elif base in MODULES:
            yield base


def _type_checking_only(node: ast.If) -> bool:
    return ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield the imports run when the module loads (not those only a type checker reads)."""
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _type_checking_only(node):
            yield from (n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))


def _graph() -> dict[str, set[str]]:
    """Return each vetting module's module-level imports of other vetting modules."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        graph[name] = {m for node in _top_level_imports(tree) for m in _imported(node) if m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one import cycle as a path of module names, or [] when there is none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = "open"
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[name] = "done"
        return []

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return []


def test_the_vetting_package_has_no_import_cycle() -> None:
    graph = _graph()
    assert "directory.vetting.decisions" in graph["directory.vetting.services"], "the graph reads real imports"
    assert _cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_vetting_module_imports_vetting_inside_a_function() -> None:
    hidden = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and list(_imported(node)):
                    hidden.append(f"{name}:{node.lineno}")
    assert hidden == [], "an import inside a function hides a cycle: restructure instead"


def test_every_vetting_module_imports_alone() -> None:
    # One fresh interpreter; before each module every directory.* module is forgotten, so each
    # import starts from nothing, as it would as the first import of a process.
    script = (
        "import importlib, sys\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'directory' or m.startswith('directory.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def _calls(path: Path) -> Iterator[tuple[str, int]]:
    """Yield (callee, line) for every call in a module."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node.lineno


def test_only_checks_py_writes_verification_checks() -> None:
    # The demo seed (directory/seed.py) bulk-inserts whole tables for speed; it builds no rows here.
    writers = [f"{path.relative_to(ROOT)}:{line}" for path in sorted(DIRECTORY.rglob("*.py")) if path != WRITER
               for callee, line in _calls(path)
               if callee in {"VerificationCheck", "_append"} or callee.startswith("VerificationCheck.__table__.insert")
               or callee == "insert" and "insert(VerificationCheck" in path.read_text()]
    assert writers == [], "append to the chain through directory.vetting.checks"
    assert "VerificationCheck" in {callee for callee, _ in _calls(WRITER)}, "the guard looks at the real writer"


def test_sources_never_write() -> None:
    modules = {sys.modules[type(source).__module__].__file__ for source in registry.SOURCES}
    modules |= {str(VETTING / "sources" / "base.py"), str(VETTING / "sources" / "registry.py")}
    writes = [f"{Path(str(m)).name}:{line} {callee}" for m in sorted(str(m) for m in modules)
              for callee, line in _calls(Path(m)) if callee in SESSION_WRITES]
    assert len(modules) >= 5, "the guard reads every source module"
    assert writes == [], "a source returns a Finding; directory.vetting.checks writes it"
