"""`shape`: what the routes answer, as plain dataclasses.

A deployed function builds its answers from these and Powertools serialises them
(`dataclasses.asdict`): no pydantic at run time, which alone cost about a third of a bare
function's cold start (docs/performance.md). The OpenAPI is generated from the same classes:
pydantic reads a stdlib dataclass as a schema, and with `use_attribute_docstrings` the string
under a field becomes its description.
"""
from dataclasses import dataclass, fields


def shape(cls):
    """A response shape: keyword-only, slotted, each field documented by the docstring below it."""
    cls.__pydantic_config__ = {"use_attribute_docstrings": True}  # read only when the OpenAPI is generated
    return dataclass(slots=True, kw_only=True)(cls)


def values(instance) -> dict:
    """A shape's fields as keyword arguments (shallow: nested shapes stay objects), to extend it."""
    return {f.name: getattr(instance, f.name) for f in fields(instance)}
