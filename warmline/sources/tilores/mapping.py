"""Tilores entities → Customer: distinct E.164 phones and lower-case e-mails, names, best match."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidMessage
from ...models import Customer
from ...models.keys import normalize_phone

#: Record fields with a meaning of their own; every other allow-listed field goes to `attributes`.
_KNOWN = {"id", "phone", "email", "name", "first_name", "last_name", "status", "tier", "language", "source"}


@dataclass(frozen=True)
class MappingRules:
    """How records become a Customer."""

    fields: tuple[str, ...]
    customer_id_field: str | None = None
    region: str = "US"


def _distinct(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v not in (None, "")))


def _phones(records: Sequence[dict[str, Any]], region: str) -> tuple[str, ...]:
    out = []
    for raw in _distinct(r.get("phone") for r in records):
        try:
            out.append(normalize_phone(str(raw), region))
        except InvalidMessage:
            continue  # an unusable number in one source system must not hide the customer
    return tuple(dict.fromkeys(out))


def _name(records: Sequence[dict[str, Any]]) -> str | None:
    for r in records:
        if r.get("name"):
            return str(r["name"])
    for r in records:
        full = " ".join(str(r[p]) for p in ("first_name", "last_name") if r.get(p))
        if full:
            return full
    return None


def _first(records: Sequence[dict[str, Any]], field: str) -> Any:
    return next((r[field] for r in records if r.get(field) not in (None, "")), None)


def to_customer(entity: dict[str, Any], rules: MappingRules) -> Customer:
    """One entity → one Customer, using only allow-listed fields."""
    records = [{k: v for k, v in r.items() if k in rules.fields} for r in entity.get("records") or []]
    cid_field = rules.customer_id_field
    customer_id = str(_first(records, cid_field) or entity["id"]) if cid_field else str(entity["id"])
    extra = set(rules.fields) - _KNOWN - {cid_field}
    attributes: dict[str, Any] = {}
    for field in sorted(extra):
        values = _distinct(r.get(field) for r in records)
        if values:
            attributes[field] = values[0] if len(values) == 1 else values
    sources = _distinct(r.get("source") for r in records)
    if sources:
        attributes["sources"] = sources
    return Customer(
        customer_id=customer_id,
        entity_id=str(entity["id"]),
        name=_name(records),
        phones=_phones(records, rules.region),
        emails=tuple(_distinct(str(e).strip().lower() for e in (r.get("email") for r in records) if e)),
        status=_first(records, "status"),
        tier=_first(records, "tier"),
        language=_first(records, "language"),
        attributes=attributes,
    )


def best_match(entities: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The entity most records matched (hits), then the largest; None for no entities."""

    def score(entity: dict[str, Any]) -> tuple[int, int]:
        hits = entity.get("hits") or {}
        return (len(hits) if isinstance(hits, dict) else 0, len(entity.get("records") or []))

    return max(entities, key=score) if entities else None
