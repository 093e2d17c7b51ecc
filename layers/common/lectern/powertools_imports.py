"""Load only the parts of Powertools' event handler a function uses (cold start).

`aws_lambda_powertools.event_handler` and `aws_lambda_powertools.utilities.data_classes` import
everything they offer from their `__init__`: the AppSync, Bedrock, VPC Lattice and HTTP resolvers
(and with them asyncio), and some forty event data classes, whichever one a function uses. Each API
handler imports this module first (before any `aws_lambda_powertools.event_handler...` import):
it registers both packages without running their `__init__`, and each name the code asks of them is
imported from the submodule that defines it, on first use (PEP 562). Any other name (or `__all__`)
runs the package's own `__init__` once, so every name Powertools exports still resolves, to the
same object. About 35-55 ms of CPU less at each cold start of an API function
(docs/performance.md); `tests/unit/test_cold_imports.py` pins it.

The top package `aws_lambda_powertools` likewise: its `__init__` imports Logger, Metrics (with its
CloudWatch EMF provider) and the Tracer's module, whichever a function uses. It is registered with
what its `__init__` does besides importing (the package logger's handler, Powertools' User-Agent
part for botocore sessions, `__version__`, `PACKAGE_PATH`, `__all__`; the `__init__` itself never
runs, and a name it does not export is an AttributeError), so that a function which
publishes no metric does not load Powertools' metrics package (about 5 ms; lectern.observability).

Where the packages are already imported (tests, the local stack), this does nothing.
"""
import importlib
import importlib.util
import sys
from typing import Any

# name → the submodule that defines it: what Lectern's code and Powertools' own resolvers import
# from these packages. A name missing here still works in the two subpackages (their __init__ runs);
# the top package's __init__ never runs, so every name it exports is here.
LAZY_PACKAGES: dict[str, dict[str, str]] = {
    # First: registering the others imports their parents, this one included.
    "aws_lambda_powertools": {"Logger": "logging", "Metrics": "metrics", "single_metric": "metrics",
                              "Tracer": "tracing"},
    "aws_lambda_powertools.event_handler": {
        "ALBResolver": "api_gateway", "APIGatewayHttpResolver": "api_gateway", "ApiGatewayResolver": "api_gateway",
        "APIGatewayRestResolver": "api_gateway", "CORSConfig": "api_gateway", "Response": "api_gateway",
        "LambdaFunctionUrlResolver": "lambda_function_url", "Request": "request",
        "Depends": "depends", "DependencyResolutionError": "depends",
    },
    "aws_lambda_powertools.utilities.data_classes": {
        "ALBEvent": "alb_event", "APIGatewayProxyEvent": "api_gateway_proxy_event",
        "APIGatewayProxyEventV2": "api_gateway_proxy_event", "BedrockAgentEvent": "bedrock_agent_event",
        "LambdaFunctionUrlEvent": "lambda_function_url_event", "VPCLatticeEvent": "vpc_lattice",
        "VPCLatticeEventV2": "vpc_lattice",
    },
}


def _register(name: str, exports: dict[str, str]) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)  # (imports the parent packages)
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    parent, _, child = name.rpartition(".")
    # The top package's __init__ is never run: what it leaves is set below, and running it on a missed
    # lookup would register Powertools' User-Agent part a second time (and load Metrics and Tracer).
    whole = not parent

    def __getattr__(attr: str) -> Any:
        nonlocal whole
        submodule = exports.get(attr)
        if submodule is not None:
            value = getattr(importlib.import_module(f"{name}.{submodule}"), attr)
            setattr(package, attr, value)
            return value
        if not attr.startswith("__") and importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")  # `from package import submodule`
        if not whole:
            whole = True
            spec.loader.exec_module(package)  # the package's own __init__: every name it exports
            if attr in package.__dict__:
                return package.__dict__[attr]
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    package.__getattr__ = __getattr__
    sys.modules[name] = package
    if parent:
        setattr(sys.modules[parent], child, package)
    else:
        _as_powertools_init_leaves_it(package)


def _as_powertools_init_leaves_it(package: Any) -> None:
    """What `aws_lambda_powertools/__init__.py` does besides importing Logger, Metrics and Tracer
    (tests/unit/test_cold_imports.py compares the two)."""
    from pathlib import Path

    from aws_lambda_powertools.package_logger import set_package_logger_handler
    from aws_lambda_powertools.shared.user_agent import inject_user_agent
    from aws_lambda_powertools.shared.version import VERSION

    package.__version__ = VERSION
    package.__author__ = "Amazon Web Services"
    package.__all__ = ["Logger", "Metrics", "single_metric", "Tracer"]
    package.PACKAGE_PATH = Path(package.__file__).parent
    set_package_logger_handler()
    inject_user_agent()


for _name, _exports in LAZY_PACKAGES.items():
    _register(_name, _exports)
