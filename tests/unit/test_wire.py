"""lectern.wire.shape: the answers' dataclasses, built with one shared `__init__` (no exec'd methods)."""
import dataclasses
import json

import pytest
from pydantic import TypeAdapter

from lectern import wire


@wire.shape
class Inner:
    code: str


@wire.shape
class Outer:
    """An answer."""
    name: str
    """Its name"""
    inner: Inner | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    count: int = 0


def test_a_shape_is_a_dataclass_that_powertools_serialises():
    outer = Outer(name="a", inner=Inner(code="x"), tags=["t"])
    assert dataclasses.is_dataclass(outer)
    assert dataclasses.asdict(outer) == {"name": "a", "inner": {"code": "x"}, "tags": ["t"], "count": 0}
    assert wire.values(outer) == {"name": "a", "inner": outer.inner, "tags": ["t"], "count": 0}
    assert dataclasses.replace(outer, count=2).count == 2


def test_defaults_apply_and_each_instance_gets_its_own_factory_value():
    first, second = Outer(name="a"), Outer(name="b")
    assert (first.inner, first.count, first.tags) == (None, 0, [])
    first.tags.append("x")
    assert second.tags == []


@pytest.mark.parametrize("kwargs, message", [({}, "missing keyword argument 'name'"),
                                             ({"name": "a", "colour": "red"}, "unexpected keyword arguments ['colour']")])
def test_a_missing_or_unknown_field_is_refused_as_a_generated_init_would(kwargs, message):
    with pytest.raises(TypeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Outer(**kwargs)


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        Inner("x")


def test_no_method_is_generated_per_class():
    assert Outer.__init__ is Inner.__init__ is wire._init
    assert "__repr__" not in Outer.__dict__ and "__eq__" not in Outer.__dict__


def test_the_openapi_reads_descriptions_and_ignores_the_placeholder_docstring():
    schema = TypeAdapter(Outer).json_schema()
    assert schema["description"] == "An answer."
    assert schema["properties"]["name"]["description"] == "Its name"
    assert schema["required"] == ["name"]
    inner = schema["$defs"]["Inner"]
    assert "description" not in inner, json.dumps(inner)
