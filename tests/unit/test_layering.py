"""The HTTP package sits above the domain, never beside it: no module of `lectern` outside
`lectern.api` imports `lectern.api`.

The domain packages (catalog, accounts, learning, payments, entitlements, notifications,
models) and the shared modules beside them (errors, fields, safe_json, config, ...) raise
`lectern.errors` exceptions (a code and a message) and return the wire shapes of their own
`schemas.py`; `lectern.api` maps the errors to statuses and the envelope, and the handlers put
both on HTTP. The imports are read from the source with `ast` (tests/unit/test_import_cycles.py), so
an import inside a function or under `if TYPE_CHECKING:` counts too.
"""
from pathlib import Path

from support.import_graph import REPO_ROOT, discover, imports_of

HTTP_PACKAGE = "lectern.api"
DOMAIN_PACKAGES = ("lectern.payments", "lectern.accounts", "lectern.entitlements", "lectern.learning",
                   "lectern.catalog", "lectern.models", "lectern.notifications")


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def http_imports_below_the_http_package(repo_root: Path = REPO_ROOT) -> dict[str, list[str]]:
    """{module outside lectern.api: the lectern.api modules it imports}, for every module that does."""
    modules = {name: module for name, module in discover(repo_root).items() if _within(name, "lectern")}
    found = {}
    for name, module in sorted(modules.items()):
        if _within(name, HTTP_PACKAGE):
            continue
        http = sorted(target for target in imports_of(module, modules) if _within(target, HTTP_PACKAGE))
        if http:
            found[name] = http
    return found


def test_no_domain_module_imports_the_http_package():
    found = http_imports_below_the_http_package()
    assert found == {}, "modules below lectern.api that import it:\n" + "\n".join(
        f"{name} → {', '.join(targets)}" for name, targets in found.items())


def test_the_scan_covers_every_domain_package():
    names = discover().keys()
    for package in DOMAIN_PACKAGES:
        assert any(_within(name, package) and name != package for name in names), package


def test_the_scan_sees_every_kind_of_import(tmp_path):
    package = tmp_path / "layers" / "common" / "lectern"
    for folder in ("api", "catalog", "payments", "learning", "accounts"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for name in ("errors", "schemas", "fields"):
        (package / "api" / f"{name}.py").write_text("")
    (package / "api" / "app.py").write_text("from lectern.api import errors\n")  # the HTTP package itself may
    (package / "catalog" / "views.py").write_text("from lectern.api.schemas import CourseSummary\n")
    (package / "payments" / "checkout.py").write_text("def f():\n    from lectern.api import fields\n")
    (package / "learning" / "learn.py").write_text("from ..api.errors import NotFound\n")
    (package / "accounts" / "service.py").write_text("import lectern.api\nfrom lectern import api\n")
    (tmp_path / "devtools" / "lectern_admin").mkdir(parents=True)
    (tmp_path / "devtools" / "lectern_dev").mkdir(parents=True)
    assert http_imports_below_the_http_package(tmp_path) == {
        "lectern.accounts.service": ["lectern.api"],
        "lectern.catalog.views": ["lectern.api.schemas"],
        "lectern.learning.learn": ["lectern.api.errors"],
        "lectern.payments.checkout": ["lectern.api.fields"],
    }
