"""The rules of the request fields that several routes share, in plain Python.

Each function takes what the caller sent (already a string of the right length: the compiled
request validators check that first) and answers the value the route works with, or raises
`InvalidValue` with the sentence the 422 `details` carry. The deployed functions call these
through `lectern.api.request_binding`; `lectern.fields` wraps the same functions for the pydantic
models the OpenAPI and the validators are generated from, so both say the same thing.
"""
import re

from lectern.plain_text import has_control_characters


class InvalidValue(ValueError):
    """A field broke its rule; `str(exc)` is the sentence for `details`, `kind` names the rule."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# Deliberately stricter than RFC 5322 (no quoted local parts, no IP literals):
# what real mailboxes look like, and what SES will accept as a destination.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"^(?=.{{3,254}}$)(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*"
    rf"@(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})$"
)


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def normalized_email(value: str) -> str:
    """An email address, trimmed and lower-cased (how accounts are keyed)."""
    value = value.strip()
    if not is_email(value):
        raise InvalidValue("email", "not a valid email address")
    return value.lower()


def one_line(value: str) -> str | None:
    """Text a person writes for another to read, on one line (a name); blank is no value."""
    value = value.strip()
    if has_control_characters(value):
        raise InvalidValue("text", "must be one line of text, without control characters")
    return value or None


def multi_line(value: str) -> str | None:
    """Lines of text a person writes for another to read (a gift's note); blank is no value."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if has_control_characters(value, multi_line=True):
        raise InvalidValue("text", "must be text without control characters")
    return value or None
