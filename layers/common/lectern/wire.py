"""`shape`: what the routes answer, as plain dataclasses.

A deployed function builds its answers from these and Powertools serialises them
(`dataclasses.asdict`): no pydantic at run time, which alone cost about a third of a bare
function's cold start (docs/performance.md). The OpenAPI is generated from the same classes:
pydantic reads a stdlib dataclass as a schema, and with `use_attribute_docstrings` the string
under a field becomes its description.
"""
from dataclasses import MISSING, dataclass, fields


def shape(cls):
    """A response shape: keyword-only, each field documented by the docstring below it.

    No method is generated: a dataclass makes each by exec'ing its source, which every cold start pays
    (about 0.9 ms a class with repr, eq and slots, 0.3 ms with `__init__` alone, 0.1 ms with none). The
    shapes share one `__init__` instead, and a shape without a docstring gets the placeholder pydantic
    skips, so the dataclass does not compute one from `inspect.signature` either."""
    cls.__pydantic_config__ = {"use_attribute_docstrings": True}  # read only when the OpenAPI is generated
    if not cls.__dict__.get("__doc__"):
        cls.__doc__ = f"{cls.__name__}(...)"
    cls = dataclass(init=False, kw_only=True, repr=False, eq=False, match_args=False)(cls)
    cls._shape_fields = tuple((f.name, f.default, f.default_factory) for f in fields(cls))
    cls.__init__ = _init
    return cls


def _init(self, /, **given) -> None:
    """What dataclass would generate for a keyword-only class: every field given or defaulted, no other."""
    for name, default, factory in type(self)._shape_fields:
        if name in given:
            setattr(self, name, given.pop(name))
        elif factory is not MISSING:
            setattr(self, name, factory())
        elif default is not MISSING:
            setattr(self, name, default)
        else:
            raise TypeError(f"{type(self).__name__}() missing keyword argument {name!r}")
    if given:
        raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(given)}")


def values(instance) -> dict:
    """A shape's fields as keyword arguments (shallow: nested shapes stay objects), to extend it."""
    return {f.name: getattr(instance, f.name) for f in fields(instance)}
