"""Text a visitor wrote for someone else to read (a gift's recipient name and message, an account's
name): which characters it may not hold, and how an email writes it whatever it holds.

No pydantic here: the mail texts (lectern.payments.receipts) use it, and MailRetryFunction loads
those without the wire shapes (lectern.fields builds its validated field types on it).
"""
import re

# C0 and C1 controls (CR, LF, NUL, ESC...), DEL, the Unicode line and paragraph separators, the bidirectional
# overrides and isolates (which make text read differently from what it is) and the BOM. A tab and a line
# feed are allowed in a multi-line text only (CRLF and CR are first made LF).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAK = re.compile(r"[\t\n]")


def has_control_characters(value: str, *, multi_line: bool = False) -> bool:
    return bool(_CONTROL.search(value) or (not multi_line and _LINE_BREAK.search(value)))


def plain_text(value: str | None, *, multi_line: bool = False) -> str:
    """`value` with every control character (see _CONTROL; and line breaks unless `multi_line`) replaced by
    a space: what an email built from stored text writes, whatever wrote that text."""
    if not value:
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    cleaned = _CONTROL.sub(" ", value)
    return cleaned if multi_line else _LINE_BREAK.sub(" ", cleaned)
