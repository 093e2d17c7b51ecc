"""The HTTP functions' resolvers with their routes' models resolved: what the OpenAPI and the compiled
request validators are generated from.

A handler module names its request models and Powertools' `Body`, `Path` and `Query` only in string
annotations (`from __future__ import annotations`, imported under TYPE_CHECKING), so that a deployed
function never imports pydantic. Here, at build time, those names are put in each handler module's
namespace, where Powertools' signature reading (and `typing.get_type_hints`) looks for them.
"""
import importlib
import inspect
import os
import pkgutil
import sys
import types
from typing import Any

import lectern

from lectern_dev import template as tpl
from lectern_dev.runner import InProcessRunner


def request_models() -> dict[str, type]:
    """Every pydantic model of `lectern.<package>.request_models`, by class name."""
    from pydantic import BaseModel

    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(lectern.__path__, "lectern."):
        if info.name.rsplit(".", 1)[-1] != "request_models":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module.__name__
                    and not name.startswith("_")):  # (a shared base, not a model of its own)
                if name in found:
                    raise RuntimeError(f"two request models named {name}: component names must be unique")
                found[name] = value
    return found


def documentation_names() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

    return {"Body": Body, "Path": Path, "Query": Query, **request_models()}


def resolvers() -> dict[str, Any]:
    """Logical id → the function's resolver, for every function the template routes HTTP API paths to."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    try:  # the handlers import the generated validators, which are generated from them: first time, none
        importlib.import_module("lectern.api.request_validators")
    except ModuleNotFoundError:
        placeholder = types.ModuleType("lectern.api.request_validators")
        placeholder.ROUTES = {}
        sys.modules[placeholder.__name__] = placeholder
    runner = InProcessRunner(tpl.functions(), apply_environment=False)
    names = documentation_names()
    found = {}
    for logical_id, spec in sorted(runner.specs.items()):
        if not spec.http_routes:
            continue
        handler = runner.handler(logical_id)
        module = sys.modules[handler.__module__]
        for name, value in names.items():
            vars(module).setdefault(name, value)
        found[logical_id] = module.app
    return found


def routes(resolver: Any) -> list[Any]:
    return [*resolver._static_routes, *resolver._dynamic_routes]
