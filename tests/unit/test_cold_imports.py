"""What a function imports at cold start is what it pays for on every cold start.

Each check runs in a fresh interpreter. Modules that boto3 itself loads on
this machine (botocore pulls in `cryptography` when pyOpenSSL is installed,
as it is in the dev venv but not in the layer) are the floor, not the
handler's doing, so they are subtracted.
"""
import json
import subprocess
import sys

import pytest

from lectern_dev import template as tpl
from support.fresh_interpreter import last_json_line

AUTH_AND_PAYMENT_PACKAGES = ["stripe", "jwt", "argon2", "cryptography", "lectern.payments", "lectern.accounts",
                             "lectern.stripe_gateway", "lectern.jwt_tokens"]

_IMPORT_HANDLER = """
import importlib.util, json, sys
module_spec = importlib.util.spec_from_file_location("handler_module", {path!r})
module = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""
_FLOOR = """
import json, sys, boto3
boto3.client("dynamodb")
print(json.dumps(sorted(sys.modules)))
"""


def _modules(code: str) -> set[str]:
    return set(last_json_line(code, env={"AWS_DEFAULT_REGION": "us-east-1"}))


def modules_added_by(logical_id: str) -> set[str]:
    spec = tpl.functions()[logical_id]
    return _modules(_IMPORT_HANDLER.format(path=str(spec.code_dir / f"{spec.module}.py"))) - _modules(_FLOOR)


def _loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def test_catalog_function_loads_no_payment_auth_or_crypto_package():
    added = modules_added_by("CatalogFunction")
    assert _loaded(added, "lectern.catalog"), "the check must see the handler's own imports"
    loaded = [package for package in AUTH_AND_PAYMENT_PACKAGES if _loaded(added, package)]
    assert loaded == []


@pytest.mark.parametrize("logical_id", sorted(tpl.functions()))
def test_stripe_is_imported_only_by_functions_that_call_stripe(logical_id):
    calls_stripe = {"CheckoutFunction", "StripeWebhookFunction"}
    assert _loaded(modules_added_by(logical_id), "stripe") == (logical_id in calls_stripe)


# The dev venv holds every layer's packages at once, so an import a function's own layers do
# not ship (stripe in the catalog, cryptography outside the lesson function, requests anywhere) would pass the
# tests above and break only in the built artifact. This check blocks, in a fresh interpreter,
# every package that ships in another layer, or that the layer build deletes, but not in this
# function's layers, then imports the handler. Optional imports (PyJWT's of cryptography,
# stripe's of requests) then take the path they take on Lambda.
_IMPORT_WITH_BLOCKED = """
import importlib.util, sys
BLOCKED = {blocked!r}

class NotInThisFunctionsLayers:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in this function's layers)", name=name)
        return None

sys.meta_path.insert(0, NotInThisFunctionsLayers())
module_spec = importlib.util.spec_from_file_location("handler_module", {path!r})
module = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(module)
"""


def not_shipped_to(logical_id: str) -> set[str]:
    from lectern_dev import layer_contents as layers

    shipped = set().union(*(layers.layer_distributions(layer) for layer in layers.function_layers(logical_id)))
    elsewhere = set().union(*(layers.layer_distributions(layer) for layer in layers.all_layers()))
    elsewhere |= layers.UNUSED_DISTRIBUTIONS
    runtime = layers.closure(layers.RUNTIME_DISTRIBUTIONS)
    return layers.import_names(elsewhere - shipped - runtime) - layers.import_names(shipped | runtime)


def test_the_blocked_sets_follow_the_layer_split():
    assert {"cryptography", "requests"} <= not_shipped_to("LearnerFunction")
    assert {"stripe", "argon2", "requests"} <= not_shipped_to("LessonFunction")
    assert {"cryptography", "requests"} <= not_shipped_to("CheckoutFunction")
    assert {"stripe", "jwt", "cryptography", "argon2"} <= not_shipped_to("CatalogFunction")
    assert "jwt" not in not_shipped_to("LearnerFunction") | not_shipped_to("LessonFunction") | not_shipped_to("AuthFunction")


@pytest.mark.parametrize("logical_id", sorted(tpl.functions()))
def test_only_the_lesson_function_signs_playback_tokens(logical_id):
    # RS256 loads cryptography's RSA (about 13 ms of a cold start): the learner's other routes must not pay for it.
    assert _loaded(modules_added_by(logical_id), "lectern.learning.playback") == (logical_id == "LessonFunction")


@pytest.mark.parametrize("logical_id", sorted(tpl.functions()))
def test_a_function_imports_only_what_its_own_layers_ship(logical_id):
    spec = tpl.functions()[logical_id]
    code = _IMPORT_WITH_BLOCKED.format(blocked=sorted(not_shipped_to(logical_id)),
                                       path=str(spec.code_dir / f"{spec.module}.py"))
    env = {"PYTHONPATH": "layers/common", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tpl.REPO_ROOT, capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# What a handler's init leaves to its first use (docs/performance-history.md): each check imports
# the handler in a fresh interpreter with the function's own environment, inside Lambda as far as
# Powertools can tell (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME) and with tracing on, as deployed.
_IMPORT_AS_DEPLOYED = """
import importlib.util, json, sys
module_spec = importlib.util.spec_from_file_location("handler_module", {path!r})
module = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(module)
at_init = sorted(sys.modules)
from lectern.observability import tracer
tracer.load()  # what the first invocation does before the handler runs
from aws_xray_sdk.core import patcher
print(json.dumps({{"init": at_init, "patched": sorted(patcher._PATCHED_MODULES)}}))
"""


def _as_deployed(logical_id: str) -> dict:
    spec = tpl.functions()[logical_id]
    env = {"PYTHONPATH": "layers/common", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "LAMBDA_TASK_ROOT": str(spec.code_dir), "AWS_LAMBDA_FUNCTION_NAME": logical_id,
           "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", **spec.environment}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    result = subprocess.run([sys.executable, "-c", _IMPORT_AS_DEPLOYED.format(path=str(spec.code_dir / "app.py"))], check=False,
                            cwd=tpl.REPO_ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("logical_id", sorted(tpl.functions()))
def test_the_xray_sdk_loads_on_first_use_and_patches_what_it_patched_at_init(logical_id):
    """Tracing on, the handler's import leaves the X-Ray SDK out (lectern.observability.LazyTracer);
    the first invocation loads it and patches botocore and http.client, as the Tracer did at init."""
    loaded = _as_deployed(logical_id)
    assert not _loaded(set(loaded["init"]), "aws_xray_sdk.core")
    assert loaded["patched"] == ["botocore", "httplib"]


# Every function the template gives an HTTP route or a function URL (a new one is checked without a word here).
HTTP_FUNCTIONS = sorted(spec.logical_id for spec in tpl.functions().values()
                        if spec.http_routes or spec.has_function_url)
UNUSED_RESOLVERS = ["aws_lambda_powertools.event_handler.appsync", "aws_lambda_powertools.event_handler.bedrock_agent",
                    "aws_lambda_powertools.event_handler.vpc_lattice", "asyncio",
                    "aws_lambda_powertools.utilities.data_classes.s3_event",
                    "aws_lambda_powertools.utilities.data_classes.kinesis_stream_event"]


@pytest.mark.parametrize("logical_id", HTTP_FUNCTIONS)
def test_an_http_function_loads_only_the_parts_of_the_event_handler_it_uses(logical_id):
    """lectern.powertools_imports, imported first by each handler: Powertools' other resolvers, asyncio and
    the event data classes of other services stay out of its init."""
    init = set(_as_deployed(logical_id)["init"])
    assert _loaded(init, "aws_lambda_powertools.event_handler.api_gateway")
    unused = [name for name in UNUSED_RESOLVERS
              if not (name == "asyncio" and _loaded(init, "stripe"))]  # the Stripe SDK's HTTP client imports it
    assert [name for name in unused if _loaded(init, name)] == []


@pytest.mark.parametrize("logical_id", HTTP_FUNCTIONS)
def test_an_http_function_loads_powertools_metrics_only_when_it_adds_a_metric(logical_id):
    """Their metrics count failures (an email SES refused, a webhook event that failed): the package is
    loaded by the first one (lectern.observability.LazyMetrics), and Tracer's module by the first invocation."""
    init = set(_as_deployed(logical_id)["init"])
    assert _loaded(init, "aws_lambda_powertools.logging")
    assert [name for name in ("aws_lambda_powertools.metrics", "aws_lambda_powertools.tracing")
            if _loaded(init, name)] == []


# What aws_lambda_powertools/__init__.py leaves behind besides its imports, read the same way after the
# package itself is imported ("real") and after lectern.powertools_imports registered it ("lazy").
_POWERTOOLS_INIT_EFFECTS = """
import json, logging, sys
if sys.argv[1] == "lazy":
    import lectern.powertools_imports
import aws_lambda_powertools as package
metrics_at_import = "aws_lambda_powertools.metrics" in sys.modules
assert not hasattr(package, "no_such_name")  # (lazy: a missed lookup must not run the real __init__)
metrics_after_a_missed_lookup = "aws_lambda_powertools.metrics" in sys.modules
import botocore
from aws_lambda_powertools.shared.user_agent import _initializer_botocore_session
package_logger = logging.getLogger("aws_lambda_powertools")
print(json.dumps({
    "all": sorted(package.__all__), "version": package.__version__, "author": package.__author__,
    "path": str(package.PACKAGE_PATH), "propagate": package_logger.propagate,
    "handlers": [type(h).__name__ for h in package_logger.handlers],
    "user_agent_initializers": botocore._INITIALIZERS.count(_initializer_botocore_session),
    "exports": {name: f"{getattr(package, name).__module__}.{getattr(package, name).__qualname__}"
                for name in package.__all__},
    "metrics_at_import": metrics_at_import, "metrics_after_a_missed_lookup": metrics_after_a_missed_lookup,
}))
"""


def test_the_lazy_top_package_leaves_what_its_init_leaves():
    env = {"PYTHONPATH": "layers/common", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    read = {}
    for how in ("real", "lazy"):
        result = subprocess.run([sys.executable, "-c", _POWERTOOLS_INIT_EFFECTS, how], cwd=tpl.REPO_ROOT,
                                capture_output=True, text=True, env=env, timeout=120, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        read[how] = json.loads(result.stdout.strip().splitlines()[-1])
    assert (read["real"].pop("metrics_at_import"), read["lazy"].pop("metrics_at_import")) == (True, False)
    assert (read["real"].pop("metrics_after_a_missed_lookup"),
            read["lazy"].pop("metrics_after_a_missed_lookup")) == (True, False)
    assert read["lazy"] == read["real"]
    assert read["lazy"]["user_agent_initializers"] == 1


_LAZY_PACKAGES_AGREE = """
import importlib, json
import lectern.powertools_imports as lazy
problems = []
for name, exports in lazy.LAZY_PACKAGES.items():
    package = importlib.import_module(name)
    first = {attr: getattr(package, attr) for attr in exports}  # each from its submodule
    everything = package.__all__  # any other name: the package's own __init__ runs
    problems += [f"{name}.{attr}" for attr in exports if getattr(package, attr) is not first[attr]]
    problems += [f"{name}.{attr} missing" for attr in everything if not hasattr(package, attr)]
print(json.dumps(problems))
"""


def test_the_lazy_packages_give_the_objects_their_init_exports():
    env = {"PYTHONPATH": "layers/common", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", _LAZY_PACKAGES_AGREE], cwd=tpl.REPO_ROOT, capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("logical_id", sorted(tpl.functions()))
def test_no_function_imports_pydantic(logical_id):
    """The request models are pydantic, and only the OpenAPI and the compiled validators are generated from
    them: the layer has no pydantic (docs/performance.md), so a function importing it would fail deployed."""
    added = modules_added_by(logical_id)
    assert _loaded(added, "lectern"), "the check must see the handler's own imports"
    assert [m for m in ("pydantic", "pydantic_core", "annotated_types", "fastjsonschema") if _loaded(added, m)] == []
    assert not any(m.endswith(".request_models") or m == "lectern.fields" for m in added)


# Modules that one route of a function needs, imported by that route when it first runs, so that the
# function's other routes do not pay for them at each cold start (docs/performance-history.md).
FIRST_USE_ONLY = {
    "LearnerFunction": ["lectern.models.orders", "lectern.models.users", "lectern.accounts.sessions"],  # /me/orders, /me
    "LessonFunction": ["lectern.models.orders", "lectern.models.users"],
    "ProgressFunction": ["lectern.models.users", "fpdf"],  # a certificate's issue: the name, the PDF
}


@pytest.mark.parametrize("logical_id", sorted(FIRST_USE_ONLY))
def test_what_one_route_needs_is_imported_by_that_route(logical_id):
    added = modules_added_by(logical_id)
    assert _loaded(added, "lectern.models"), "the check must see the handler's own imports"
    assert [m for m in FIRST_USE_ONLY[logical_id] if _loaded(added, m)] == []
