"""docs/api.md, the human contract, agrees with docs/openapi.json (generated from the code;
tests/unit/test_template.py keeps that one current) and with the error codes the code answers: the
status table of lectern.api.errors, which must hold every code of the domain's errors
(lectern.errors) and of the HTTP-only ones, and nothing else."""
import json
import re
from pathlib import Path

from lectern import errors as domain_errors
from lectern.api import errors

REPO_ROOT = Path(__file__).resolve().parents[2]
API_DOC = REPO_ROOT / "docs" / "api.md"
OPENAPI = REPO_ROOT / "docs" / "openapi.json"

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_OPERATION = re.compile(r"^#{2,6} (GET|PUT|POST|DELETE|OPTIONS|HEAD|PATCH|TRACE) (/\S*)$")
_STATUS_ROW = re.compile(r"^\|\s*(\d{3})\b([^|]*)\|")
_CODE = re.compile(r"`([a-z][a-z_]*)`")


def documented_operations(text: str) -> dict[str, dict[str, set[str]]]:
    """`METHOD /path` headings → {status: error codes named in its row's first cell}, from the
    status table under each heading (up to the next heading)."""
    operations: dict[str, dict[str, set[str]]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            match = _OPERATION.match(line.strip())
            current = f"{match[1]} {match[2]}" if match else None
            if current:
                assert current not in operations, f"docs/api.md documents {current} twice"
                operations[current] = {}
        elif current and (row := _STATUS_ROW.match(line)):
            operations[current].setdefault(row[1], set()).update(_CODE.findall(row[2]))
    return operations


def openapi_operations(document: dict) -> dict[str, set[str]]:
    return {f"{method.upper()} {path}": set(operation.get("responses", {}))
            for path, item in document["paths"].items()
            for method, operation in item.items() if method in _METHODS}


def disagreements(doc: dict[str, dict[str, set[str]]], openapi: dict[str, set[str]]) -> list[str]:
    problems = [f"{op}: in docs/openapi.json, not in docs/api.md" for op in sorted(openapi.keys() - doc.keys())]
    problems += [f"{op}: in docs/api.md, not in docs/openapi.json" for op in sorted(doc.keys() - openapi.keys())]
    for op in sorted(doc.keys() & openapi.keys()):
        if set(doc[op]) != openapi[op]:
            problems.append(f"{op}: docs/api.md lists {sorted(doc[op])}, docs/openapi.json {sorted(openapi[op])}")
    return problems


def error_codes() -> dict[str, int]:
    """Every error code the code can answer, with its status."""
    return dict(errors.STATUS_BY_CODE)


def error_classes() -> list[type]:
    """Every error class the code can raise: the domain's and the HTTP-only ones, with their subclasses."""
    found, todo = [], [domain_errors.DomainError, errors.ApiError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


def error_code_table(text: str) -> dict[str, int]:
    """The `### Error codes` table: code → status."""
    section = text.split("### Error codes", 1)[1].split("\n#", 1)[0]
    return {code: int(row[1]) for line in section.splitlines() if (row := _STATUS_ROW.match(line))
            for code in _CODE.findall(line.split("|")[2])}


def test_every_operation_and_status_of_the_openapi_is_in_api_md_and_nothing_else():
    doc = documented_operations(API_DOC.read_text(encoding="utf-8"))
    openapi = openapi_operations(json.loads(OPENAPI.read_text(encoding="utf-8")))
    assert len(openapi) >= 18
    assert disagreements(doc, openapi) == []


def test_the_comparison_catches_a_route_or_status_on_one_side_only():
    doc = documented_operations(API_DOC.read_text(encoding="utf-8"))
    openapi = openapi_operations(json.loads(OPENAPI.read_text(encoding="utf-8")))
    added_to_code = {**openapi, "DELETE /me": {"204", "401"}}
    assert disagreements(doc, added_to_code) == ["DELETE /me: in docs/openapi.json, not in docs/api.md"]
    added_to_doc = documented_operations(API_DOC.read_text(encoding="utf-8") + "\n### PUT /me\n\n| 200 | x |\n")
    assert disagreements(added_to_doc, openapi) == ["PUT /me: in docs/api.md, not in docs/openapi.json"]
    one_status_more = {**openapi, "GET /me": openapi["GET /me"] | {"404"}}
    assert len(disagreements(doc, one_status_more)) == 1


def test_every_error_code_is_in_the_table_under_its_status():
    assert error_code_table(API_DOC.read_text(encoding="utf-8")) == error_codes()


def test_the_status_table_holds_the_code_of_every_error_class_and_no_other():
    raised = {cls.code for cls in error_classes()}
    assert len(raised) >= 19
    assert set(error_codes()) == raised


def test_each_operation_names_only_error_codes_of_its_row_status():
    codes = error_codes()
    for op, statuses in documented_operations(API_DOC.read_text(encoding="utf-8")).items():
        for status, named in statuses.items():
            for code in named:
                assert codes.get(code) == int(status), f"{op}: {status} names `{code}`"
