"""Signed bodies the webhook must refuse or record as odd, shared by the in-process and HTTP tests."""
import json


def event_body(obj, event_type="charge.refunded", event_id="evt_odd_1") -> str:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})


NOT_EVENTS = {
    "a list": "[1]",
    "null": "null",
    "a string": '"evt_1"',
    "a number": "42",
    "not json": "evt_1 charge.refunded",
    "an empty object": "{}",
    "nested brackets": "[" * 12_000,
    "a 5000-digit number": '{"id": ' + "9" * 5_000 + "}",
    "an integer event id": json.dumps({"id": 42, "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}),
    "an event id with a path in it": event_body({"id": "ch_1"}, event_id="evt_../../x"),
    "no type": json.dumps({"id": "evt_1", "data": {"object": {"id": "ch_1"}}}),
    "a type that is not a string": json.dumps({"id": "evt_1", "type": ["charge.refunded"], "data": {"object": {}}}),
    "no data": json.dumps({"id": "evt_1", "type": "charge.refunded"}),
    "data.object a string": event_body("ch_1"),
    "data.object a list": event_body([{"id": "ch_1"}]),
    "an integer object id": event_body({"id": 42}),
    "half a surrogate pair": event_body({"id": "ch_1", "metadata": {"order_id": "\ud800"}}),
}
