"""Field types of the wire shapes that several packages share, so one rule holds everywhere."""
import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from lectern.plain_text import has_control_characters

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


def _normalized_email(value: str) -> str:
    value = value.strip()
    if not is_email(value):
        raise PydanticCustomError("email", "not a valid email address")
    return value.lower()


# An email address, trimmed and lower-cased (how accounts are keyed); 422 when malformed.
Email = Annotated[str, Field(min_length=3, max_length=254, json_schema_extra={"format": "email"},
                             examples=["buyer@example.com"]), AfterValidator(_normalized_email)]


# ------------------------------------------------------------------ text a visitor writes for someone else to read
# (which characters it may not hold: lectern.plain_text)
def _one_line(value: str) -> str | None:
    value = value.strip()
    if has_control_characters(value):
        raise PydanticCustomError("text", "must be one line of text, without control characters")
    return value or None


def _multi_line(value: str) -> str | None:
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if has_control_characters(value, multi_line=True):
        raise PydanticCustomError("text", "must be text without control characters")
    return value or None


# A person's name as another person will read it (a gift's recipient): one line, at most 100 characters.
PersonName = Annotated[str, Field(max_length=100, examples=["Grace"]), AfterValidator(_one_line)]
# A short note from one person to another (a gift's message): lines of text, at most 500 characters.
Note = Annotated[str, Field(max_length=500, examples=["Happy birthday! Enjoy the course."]),
                 AfterValidator(_multi_line)]
