"""The package layout's boundaries (docs/architecture.md): who may import ray, sqlite3 and the CLI; module size;
no re-export facades; a one-line contract in every subpackage's __init__."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "funsearch"
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module name an import statement in `path` names (absolute imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def inside(path: Path, package: str) -> bool:
    return path.relative_to(PACKAGE).parts[0] == package


@pytest.mark.parametrize("module, home", [("ray", "orchestrator"), ("sqlite3", "store")])
def test_only_one_package_imports(module, home):
    offenders = [str(p.relative_to(PACKAGE)) for p in MODULES if not inside(p, home)
                 and any(n == module or n.startswith(module + ".") for n in imported(p))]
    assert offenders == []


def test_nothing_outside_cli_imports_cli():  # but __main__.py, which runs it (`python -m funsearch`)
    offenders = [str(p.relative_to(PACKAGE)) for p in MODULES if not inside(p, "cli") and p.name != "__main__.py"
                 and any(n == "funsearch.cli" or n.startswith("funsearch.cli.") for n in imported(p))]
    assert offenders == []


def test_modules_are_small_and_no_facades():
    assert [p.name for p in MODULES if len(p.read_text().splitlines()) > 300] == []
    assert [p.name for p in MODULES if "noqa: F401" in p.read_text() and "import vllm" not in p.read_text()] == []


def test_every_subpackage_states_its_contract_in_one_line():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        first = doc.splitlines()[0] if doc else ""
        assert first.endswith((".", ":")) and len(first) > 20, init
