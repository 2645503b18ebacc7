"""A caller brief's text: the deterministic template, or the chat model's summary of the record."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from typing import Any

import orjson

from ..models import Customer

#: Bumped whenever the template or the model prompt changes: cached briefs of another version are not used.
PROMPT_VERSION = "b1"

SYSTEM_PROMPT = (
    "You help a call-center agent who is about to pick up a call. You get the caller's customer record "
    "as JSON. Answer the agent's question from that record only, in at most three short sentences; "
    "say so when the record does not tell. Never invent account details."
)
BRIEF_QUESTION = "brief me"
FLAG_KEYS = ("open_flags", "flags", "open_cases")


def _tenure(since: Any, today: date) -> str | None:
    try:
        start = date.fromisoformat(str(since))
    except ValueError:
        return None
    years = today.year - start.year - ((today.month, today.day) < (start.month, start.day))
    if years >= 1:
        return f"customer for {years} year{'s' if years != 1 else ''} (since {start.isoformat()})"
    return f"customer since {start.isoformat()}"


def _flags(attributes: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    for name in FLAG_KEYS:
        value = attributes.get(name)
        if isinstance(value, list | tuple):
            flags.extend(str(v) for v in value)
        elif value:
            flags.append(str(value))
    return flags


def template_brief(customer: Customer, now: float) -> str:
    """Name, tier, status, language, tenure and open flags, in one paragraph (no model needed)."""
    today = datetime.fromtimestamp(now, UTC).date()
    parts = [customer.name or f"customer {customer.customer_id}"]
    facts = [
        f"{customer.tier} tier" if customer.tier else None,
        f"status {customer.status}" if customer.status else None,
        f"speaks {customer.language}" if customer.language else None,
        _tenure(customer.attributes.get("customer_since"), today) if "customer_since" in customer.attributes else None,
    ]
    known = [f for f in facts if f]
    flags = _flags(customer.attributes)
    text = f"{parts[0]} ({customer.customer_id})"
    if known:
        text += ": " + ", ".join(known)
    return text + ". " + (f"Open flags: {', '.join(flags)}." if flags else "No open flags.")


def model_messages(customer: Customer | None, question: str) -> list[tuple[str, str]]:
    """The (role, content) messages sent to the chat model."""
    record = orjson.dumps(customer.model_dump(mode="json") if customer else None).decode()
    return [("system", SYSTEM_PROMPT), ("human", f"Customer record: {record}\n\nQuestion: {question}")]


def message_text(content: Any) -> str:
    """A chat model message's content as plain text (providers may answer content blocks)."""
    if isinstance(content, str):
        return content
    texts = []
    for block in content or []:
        with contextlib.suppress(AttributeError, TypeError):
            texts.append(block if isinstance(block, str) else block.get("text", ""))
    return "".join(texts)
