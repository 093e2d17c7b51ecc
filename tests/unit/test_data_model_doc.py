"""docs/data-model.md accounts for every field: its table of entities names, for each model,
every attribute it keeps (keys aside), and nothing the model lacks."""
import re
from pathlib import Path

from lectern.models import catalog, entitlements, events, orders, users

DATA_MODEL = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
MODELS = {model.__name__: model for model in (
    users.User, catalog.Course, catalog.CourseModule, catalog.CourseLesson, catalog.LessonResource,
    orders.Order, orders.OrderItem, entitlements.Entitlement, events.StripeEvent, entitlements.LessonProgress,
    entitlements.Certificate)}
ENTITIES = ("users", "courses", "course_modules", "course_lessons", "lesson_resources", "orders",
            "order_items", "entitlements", "stripe_events", "lesson_progress", "certificates")
KEYS = {"pk", "sk", "gsi1pk", "gsi1sk", "kind"}
_NAME = r"`([a-z][a-z0-9_]*)`"
_RENAMED = re.compile(_NAME + r"\s*→\s*" + _NAME)


def field_table() -> dict[str, tuple[str, dict[str, str], set[str]]]:
    """entity → (model name, {field: attribute}, attributes kept beyond the entity's fields)."""
    section = DATA_MODEL.read_text(encoding="utf-8").split("## Every field", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        model = re.search(r"\(`(\w+)`\)", cells[1]) if len(cells) == 4 else None
        if model is None:  # the header, its rule, or not this table
            continue
        entity, _item, fields, extra = cells
        model = model[1]
        renamed = dict(_RENAMED.findall(fields))
        plain = re.findall(_NAME, _RENAMED.sub("", fields))
        # Only the first name of each comma-separated entry is a field; what follows explains it.
        extra_names = {re.match(_NAME, part.strip())[1] for part in re.split(r",\s*(?![^()]*\))", extra)}
        table[entity] = (model, {**{name: name for name in plain}, **renamed}, extra_names)
    return table


def test_every_entity_is_in_the_table():
    assert tuple(field_table()) == ENTITIES


def test_every_attribute_is_accounted_for_and_exists():
    for entity, (model_name, fields, extra) in field_table().items():
        attributes = set(MODELS[model_name].get_attributes()) - KEYS
        held = set(fields.values()) | extra
        assert held == attributes, (
            f"{entity}: documented {sorted(held - attributes)}, missing {sorted(attributes - held)}")


def test_the_renamed_fields():
    table = field_table()
    assert table["stripe_events"][1]["event_type"] == "type"
    assert table["stripe_events"][1]["payload_json"] == "payload"
    assert table["courses"][1]["price_currency"] == "currency"
    assert table["orders"][1]["stripe_checkout_session_id"] == "checkout_session_id"
    assert table["orders"][1]["stripe_customer_id"] == "stripe_customer_id"
    assert table["users"][1]["email_verified_at"] == "email_verified_at"
