"""Keys and access patterns belong to lectern.models (issue 13, item 3): no module outside it builds
or takes apart a key string (`USER#…`, `ORDER#…`, `ITEM#…`): it calls the model module's function
for the numbered access pattern of docs/data-model.md."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "lectern"
MODELS = PACKAGE / "models"
KEY_PREFIX = re.compile(r"(?<![A-Za-z0-9_])(USER|ORDER|ITEM|REFUND|RESOURCE|LESSON|MODULE|COURSE|EMAIL|CHECKOUTS?"
                        r"|PAYMENT_INTENT|TOKEN|FAMILY|ENT|HIST|AUDIT|MAIL|OUTBOX|THROTTLE|RATE)#")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def key_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [f"{path.name if ROOT not in path.parents else path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and KEY_PREFIX.search(node.value)]


def test_the_scan_sees_a_key_string(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Keys: USER#<id>."""\nx = f"USER#{1}"\ny = "ITEM#"\nz = "a # comment-ish"\n')
    assert sorted(_scan_file(sample)) == ["'ITEM#'", "'USER#'"]


def _scan_file(path: Path) -> list[str]:
    return [hit.split(": ", 1)[1] for hit in key_strings(path)]


def test_no_module_outside_models_builds_key_strings():
    sources = [p for p in [*PACKAGE.rglob("*.py"), *(ROOT / "functions").rglob("*.py")] if MODELS not in p.parents]
    assert sources
    hits = [hit for path in sorted(sources) for hit in key_strings(path)]
    assert hits == [], "key strings outside lectern/models (use the model module's access pattern):\n" + "\n".join(hits)
