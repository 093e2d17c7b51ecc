"""`shape`: what the routes answer, as plain dataclasses.

A deployed function builds its answers from these and Powertools serialises them
(`dataclasses.asdict`): no pydantic at run time, which alone cost about a third of a bare
function's cold start (docs/performance.md). The OpenAPI is generated from the same classes:
pydantic reads a stdlib dataclass as a schema, and with `use_attribute_docstrings` the string
under a field becomes its description.
"""
from dataclasses import dataclass, fields


def shape(cls):
    """A response shape: keyword-only, each field documented by the docstring below it. Only `__init__`
    is generated (no repr, eq or slots): a dataclass is made by exec'ing its methods' source, and each
    of them costs every cold start (≈ 0.9 ms a class with them all, 0.5 ms with `__init__` alone)."""
    cls.__pydantic_config__ = {"use_attribute_docstrings": True}  # read only when the OpenAPI is generated
    return dataclass(kw_only=True, repr=False, eq=False, match_args=False)(cls)


def values(instance) -> dict:
    """A shape's fields as keyword arguments (shallow: nested shapes stay objects), to extend it."""
    return {f.name: getattr(instance, f.name) for f in fields(instance)}
