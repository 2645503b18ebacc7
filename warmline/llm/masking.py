"""What leaves the process for LangSmith: customer fields, free text, phones and e-mails are masked."""

from __future__ import annotations

import re
from typing import Any

MASK = "[masked]"

#: Keys whose whole value is replaced: every customer field, the raw lookup value and free text
#: (questions, answers, prompts and briefs name the caller; no regex finds every name).
SENSITIVE_KEYS = frozenset(
    {
        "value",
        "customer",
        "record",
        "name",
        "phone",
        "phones",
        "email",
        "emails",
        "customer_id",
        "entity_id",
        "attributes",
        "question",
        "answer",
        "brief",
        "content",
        "text",
        "prompt",
        "output",
        "input",
        "generations",
    }
)

# A phone number: 7+ digits with the usual separators, not part of a longer word (request ids are hex).
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{5,}\d(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scrub_text(text: str) -> str:
    """*text* with phone numbers and e-mail addresses replaced."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _hide(v) for k, v in value.items()}  # keep the field names, hide every value
    if value is None or isinstance(value, bool):
        return value
    return MASK


def mask_fields(record: dict[str, Any]) -> dict[str, Any]:
    """*record* with its field names kept and every value hidden (a customer record)."""
    return {k: _hide(v) for k, v in record.items()}


def mask(value: Any) -> Any:
    """A copy of a JSON-like *value* that is safe to send: the LangSmith client's anonymizer."""
    if isinstance(value, dict):
        return {k: _hide(v) if k in SENSITIVE_KEYS else mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value
